/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkube image: OCI images on a node.
 *
 * The content store is an OCI image layout at DATA/images (`oci-layout`,
 * `index.json`, `blobs/sha256/...`), the single source of truth: every
 * image is an entry of index.json named by its full normalized reference in
 * the `org.opencontainers.image.ref.name` annotation
 * ("docker.io/library/kubia:latest"), so `skopeo inspect
 * oci:DATA/images:docker.io/library/kubia:latest` and `umoci unpack` read
 * it as it is.  Everything else (layer snapshots, locks, in-use marks, the
 * build cache, temporary and staged uploads) lives beside it in
 * DATA/images.d.
 *
 * Layers are unpacked once per chain ID into snapshot directories in the
 * form overlayfs reads (whiteouts as 0:0 character devices, opaque
 * directories marked with the trusted.overlay.opaque xattr); a container
 * rootfs is an overlay mount of its image's snapshots plus an upper/work
 * directory of its own.
 *
 * Concurrency: a kube_image_store_t may be used from any number of threads
 * at once, and several processes (kubed and `kube`) may open the same data
 * directory: index.json is replaced atomically under a lock file, blobs
 * are written to a temporary file, verified and renamed into place, so a
 * reader never sees half an image.  Two concurrent pulls or unpacks of the
 * same content fetch and unpack it once (one waits for the other).
 *
 * Threads: every call here blocks (network, disk, mounts, containers) and
 * must run off the event loop, e.g. on a kube_workers_t thread.  Progress
 * callbacks run on the calling thread or on a transfer thread of the
 * call, one at a time, before the call returns.
 *
 * Errors: kube_error_t *err last; NotFound for unknown images, BadRequest
 * for malformed references and files, Invalid for bad Dockerfiles,
 * Conflict for images in use, Unauthorized/Forbidden from registries,
 * ServiceUnavailable when no registry endpoint answers.
 */
#ifndef LIBKUBE_IMAGE_H
#define LIBKUBE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libkube/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* References                                                                */
/* ------------------------------------------------------------------------ */

/* A reference normalized as Docker does: "kubia" is docker.io,
 * library/kubia, tag latest; "localhost:5000/x" keeps its registry;
 * "x@sha256:..." has a digest and no tag unless one was given. */
typedef struct kube_image_ref {
  char *domain; /* "docker.io", "localhost:5000" (owned) */
  char *path;   /* "library/kubia" (owned) */
  char *tag;    /* "latest"; NULL when only a digest was given (owned) */
  char *digest; /* "sha256:<64 hex>" or NULL (owned) */
} kube_image_ref_t;

/* Parse and normalize s (borrowed) into *out (cleared with
 * kube_image_ref_clear).  BadRequest with the reason for anything
 * docker/distribution's reference grammar rejects (uppercase repository,
 * name too long, bad tag, bad digest, "sha256:..." without a name). */
int kube_image_ref_parse(const char *s, kube_image_ref_t *out,
                         kube_error_t *err);
void kube_image_ref_clear(kube_image_ref_t *ref);
/* "docker.io/library/kubia:latest", "host/x@sha256:...", or
 * "host/x:tag@sha256:..." (owned, free()); NULL on out-of-memory. */
char *kube_image_ref_string(const kube_image_ref_t *ref);
/* "docker.io/library/kubia" (owned, free()). */
char *kube_image_ref_repository(const kube_image_ref_t *ref);
/* Parse + kube_image_ref_string in one call (owned, free()). */
char *kube_image_ref_normalize(const char *s, kube_error_t *err);
/* The short form Docker prints: "kubia:latest", "user/x:1",
 * "localhost:5000/x:1" (owned, free()). */
char *kube_image_ref_familiar(const kube_image_ref_t *ref);

/* ------------------------------------------------------------------------ */
/* Image configuration and descriptions                                      */
/* ------------------------------------------------------------------------ */

typedef struct kube_image_healthcheck {
  char **test; /* ["CMD-SHELL", "curl ..."], ["NONE"]... NULL-terminated */
  size_t n_test;
  int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
  int retries;
} kube_image_healthcheck_t;

/* The runtime part of an image configuration ("config" in the OCI image
 * config).  String arrays are owned and NULL-terminated; n_* count them.
 * Absent fields are NULL / 0. */
typedef struct kube_image_config {
  char **entrypoint;
  size_t n_entrypoint;
  char **cmd;
  size_t n_cmd;
  char **env; /* "K=V" */
  size_t n_env;
  char *working_dir;
  char *user;           /* "1000", "node", "uid:gid" */
  char **exposed_ports; /* "8080/tcp" */
  size_t n_exposed_ports;
  char **volumes; /* "/data" */
  size_t n_volumes;
  char *stop_signal; /* "SIGTERM" */
  char **label_keys; /* sorted by key */
  char **label_values;
  size_t n_labels;
  kube_image_healthcheck_t *healthcheck; /* NULL: none */
  char **on_build;                       /* ONBUILD triggers, stored */
  size_t n_on_build;
  char **shell; /* SHELL, NULL: default */
  size_t n_shell;
  char *os, *architecture; /* "linux", "amd64" */
} kube_image_config_t;

void kube_image_config_clear(kube_image_config_t *cfg);

/* One image of the store. */
typedef struct kube_image_info {
  char *id;              /* image ID: the config digest "sha256:..." */
  char *manifest_digest; /* digest of the (single-platform) manifest */
  /* "docker.io/library/kubia@sha256:<manifest>" when the image came from
   * or went to a registry repository, NULL otherwise (kubelet's imageRef). */
  char *repo_digest;
  char **names; /* normalized references that name it, sorted */
  size_t n_names;
  int64_t size;     /* config + compressed layers, bytes */
  time_t created;   /* from the config (0 when absent) */
  time_t last_used; /* last ensure/rootfs_prepare/build use, 0: never */
  bool in_use;      /* a rootfs lease or a use mark holds it */
  char **diff_ids;  /* uncompressed layer digests, base first */
  size_t n_layers;
  kube_image_config_t config;
} kube_image_info_t;

void kube_image_info_clear(kube_image_info_t *info);
/* Free an array of n infos from kube_image_list.  Accepts NULL. */
void kube_image_info_free_array(kube_image_info_t *infos, size_t n);

/* ------------------------------------------------------------------------ */
/* The store                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct kube_image_store kube_image_store_t;

typedef struct kube_image_store_options {
  size_t struct_size;   /* sizeof(kube_image_store_options_t) */
  const char *data_dir; /* DATA (borrowed); the store is DATA/images */
  /* k3s registries.yaml (borrowed path); NULL: DATA/registries.yaml when
   * it exists.  `mirrors:` endpoints + rewrites, `configs:` auth and TLS. */
  const char *registries_yaml;
  /* Docker config.json for credentials (borrowed path); NULL:
   * $DOCKER_CONFIG/config.json, else ~/.docker/config.json, when present. */
  const char *docker_config;
  /* Layer transfers at once per pull/push (0: 4). */
  unsigned parallel_transfers;
  /* The store is the first mirror of every registry, as kubed's built-in
   * registry that serves this very store over HTTP would be: a pull (and
   * an ensure with policy Always) of a name the store holds resolves to
   * the stored image without asking a registry. */
  bool local_is_mirror;
} kube_image_store_options_t;

/* Open (creating when needed) the store under opts->data_dir.  Owned:
 * kube_image_store_free().  Fails on an unreadable layout or a bad
 * registries.yaml (BadRequest naming the file). */
kube_image_store_t *
kube_image_store_open(const kube_image_store_options_t *opts,
                      kube_error_t *err);
void kube_image_store_free(kube_image_store_t *store); /* accepts NULL */
/* The OCI layout directory, DATA/images (borrowed, lives with store). */
const char *kube_image_store_path(const kube_image_store_t *store);

/* Every named image (one entry per image ID, all its names listed),
 * sorted by name.  *out owned: kube_image_info_free_array(). */
int kube_image_list(kube_image_store_t *store, kube_image_info_t **out,
                    size_t *n_out, kube_error_t *err);
/* Look an image up by reference ("kubia", "docker.io/library/kubia:1"),
 * by digest reference ("x@sha256:..."), by image ID ("sha256:...") or by
 * a unique ID prefix of at least 4 hex digits.  NotFound when absent. */
int kube_image_inspect(kube_image_store_t *store, const char *ref,
                       kube_image_info_t *out, kube_error_t *err);
/* The raw JSON of the image config / manifest (owned, free()). */
char *kube_image_config_json(kube_image_store_t *store, const char *ref,
                             kube_error_t *err);
char *kube_image_manifest_json(kube_image_store_t *store, const char *ref,
                               kube_error_t *err);
/* Name the image `src` also `dst` (normalized; replaces what dst named). */
int kube_image_tag(kube_image_store_t *store, const char *src, const char *dst,
                   kube_error_t *err);
/* Remove the name `ref`; when ref is an image ID, every name of it.  The
 * content goes at the next prune.  Conflict when the image is in use and
 * this was its last name, unless force. */
int kube_image_remove(kube_image_store_t *store, const char *ref, bool force,
                      kube_error_t *err);

typedef struct kube_image_prune_options {
  size_t struct_size;
  /* Also remove named images that are not in use (docker image prune -a).
   * Without it only unnamed content goes. */
  bool all;
  /* Also drop the build cache. */
  bool build_cache;
  /* Disk threshold GC as the kubelet's: when the file system of the store
   * is above high_percent used, remove unused images, least recently used
   * first, until it is below low_percent (0: no threshold GC). */
  int high_percent;
  int low_percent;
  /* Manifest digests ("sha256:...") never removed, in use or not (the
   * images the node's pods name); NULL-terminated, borrowed; may be NULL. */
  const char *const *keep;
} kube_image_prune_options_t;

typedef struct kube_image_prune_result {
  size_t images_removed;
  size_t blobs_removed;
  size_t snapshots_removed;
  int64_t bytes_freed;
} kube_image_prune_result_t;

/* Remove unreferenced blobs and snapshots (and, per opts, unused images
 * and the build cache).  Never removes an image in use, content a pull or
 * build in progress is writing, or a snapshot a rootfs is mounted on.
 * opts may be NULL (unnamed content only).  result may be NULL. */
int kube_image_prune(kube_image_store_t *store,
                     const kube_image_prune_options_t *opts,
                     kube_image_prune_result_t *result, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Progress                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum kube_image_progress_kind {
  KUBE_IMAGE_PROGRESS_RESOLVE = 0, /* message: "Resolving <ref>" */
  KUBE_IMAGE_PROGRESS_LAYER,       /* id: blob digest; current/total bytes */
  KUBE_IMAGE_PROGRESS_LAYER_DONE,  /* id; message "exists", "done", "mounted" */
  KUBE_IMAGE_PROGRESS_UNPACK,      /* id: diffID being unpacked */
  KUBE_IMAGE_PROGRESS_STEP,        /* build: message "Step 3/7 : RUN ..." */
  KUBE_IMAGE_PROGRESS_LOG,         /* build: one line (output, " ---> ...") */
  KUBE_IMAGE_PROGRESS_DONE,        /* message: the summary line */
} kube_image_progress_kind_t;

typedef struct kube_image_progress {
  kube_image_progress_kind_t kind;
  const char *id;         /* borrowed, may be NULL */
  const char *message;    /* borrowed, may be NULL */
  int64_t current, total; /* bytes; total -1 when unknown */
} kube_image_progress_t;

/* p and its strings are borrowed for the call. */
typedef void (*kube_image_progress_fn)(const kube_image_progress_t *p,
                                       void *userdata);

/* ------------------------------------------------------------------------ */
/* Registries: pull, push, and the node agent's ensure                       */
/* ------------------------------------------------------------------------ */

/* Credentials and options of one pull or push. */
typedef struct kube_image_transfer_options {
  size_t struct_size;
  /* Docker config JSON documents ({"auths": {...}}, the content of a
   * kubernetes.io/dockerconfigjson secret's .dockerconfigjson, or the
   * legacy .dockercfg map), tried before the store's own credentials, in
   * order: a pod's imagePullSecrets.  Borrowed, n_auth_configs entries. */
  const char *const *auth_configs;
  size_t n_auth_configs;
  /* Basic credentials for every registry of this call (kube image pull
   * --creds user:pass); NULL: none.  Borrowed. */
  const char *username;
  const char *password;
  /* Talk plain HTTP / skip TLS verification for every endpoint of this
   * call (skopeo's --tls-verify=false).  Loopback registries fall back
   * to HTTP on their own, as Docker does. */
  bool insecure;
  /* "linux/amd64" (default: the host's), for indexes and manifest lists. */
  const char *platform;
  kube_image_progress_fn progress;
  void *userdata;
} kube_image_transfer_options_t;

/* Fetch `ref` from its registry (through the configured mirrors) into the
 * store, verify every digest, name it ref, and fill *out (may be NULL).
 * Content already in the store is not fetched again.  Layers are not
 * unpacked (kube_image_ensure and rootfs_prepare do that). */
int kube_image_pull(kube_image_store_t *store, const char *ref,
                    const kube_image_transfer_options_t *opts,
                    kube_image_info_t *out, kube_error_t *err);
/* Upload image `src` to `dst` (NULL: src's own name): blobs the registry
 * has are skipped, blobs of another repository of the same registry are
 * mounted, others uploaded in chunks that resume after a failed chunk;
 * then the manifest.  *digest_out (may be NULL) receives the manifest
 * digest (owned, free()). */
int kube_image_push(kube_image_store_t *store, const char *src, const char *dst,
                    const kube_image_transfer_options_t *opts,
                    char **digest_out, kube_error_t *err);

typedef enum kube_image_pull_policy {
  KUBE_IMAGE_PULL_IF_NOT_PRESENT = 0,
  KUBE_IMAGE_PULL_ALWAYS,
  KUBE_IMAGE_PULL_NEVER,
} kube_image_pull_policy_t;

/* "Always", "IfNotPresent", "Never" -> policy; -1 when unknown. */
int kube_image_pull_policy_parse(const char *s);
/* Kubernetes' default: Always for ":latest" or no tag, else IfNotPresent.
 * ref borrowed. */
kube_image_pull_policy_t kube_image_pull_policy_default(const char *ref);

/* The node agent's image step.  Makes `ref` present per `policy` (Always:
 * resolve the registry's current manifest and fetch what is missing;
 * IfNotPresent: only when absent; Never: NotFound when absent, reason
 * text "ErrImageNeverPull"), unpacks its layers into snapshots, marks it
 * used now (LRU), and fills *out: out->id is the imageID, out->repo_digest
 * the imageRef for the container status, out->config the Entrypoint, Cmd,
 * Env, WorkingDir, User, ExposedPorts, Volumes, StopSignal, Labels and
 * Healthcheck to merge with the pod spec.  opts may be NULL. */
int kube_image_ensure(kube_image_store_t *store, const char *ref,
                      kube_image_pull_policy_t policy,
                      const kube_image_transfer_options_t *opts,
                      kube_image_info_t *out, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Container root file systems                                               */
/* ------------------------------------------------------------------------ */

/* Prepare a rootfs for image `image` (a reference or an image ID already
 * in the store; its layers are unpacked if needed) under `dir` (borrowed;
 * created, must be empty or absent; the caller's per-container directory,
 * e.g. DATA/pods/<uid>/<container>): dir/upper, dir/work and dir/rootfs,
 * an overlay of the image's snapshots with dir/upper on top, mounted at
 * dir/rootfs.  The image is marked in use until
 * kube_image_rootfs_release(dir).  Idempotent: a dir already prepared for
 * the same image is mounted again if needed and returned as is.
 * *mount_out receives the rootfs path (owned, free()). */
int kube_image_rootfs_prepare(kube_image_store_t *store, const char *image,
                              const char *dir, char **mount_out,
                              kube_error_t *err);
/* Unmount dir/rootfs, remove dir/upper, dir/work and dir/rootfs (and dir
 * when then empty), and drop the in-use mark.  Succeeds when dir is
 * already released or never existed. */
int kube_image_rootfs_release(kube_image_store_t *store, const char *dir,
                              kube_error_t *err);

/* Mark image `ref` in use under `holder` (a caller-chosen name, e.g. a pod
 * UID) so prune never removes it, across restarts, until unmarked. */
int kube_image_use(kube_image_store_t *store, const char *ref,
                   const char *holder, kube_error_t *err);
int kube_image_unuse(kube_image_store_t *store, const char *holder,
                     kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Archives                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct kube_image_import_options {
  size_t struct_size;
  /* Name for the imported image (normalized).  Required for a plain
   * rootfs tarball; for archives it replaces the archive's own names
   * (an archive of several images needs names of its own). */
  const char *ref;
  /* Dockerfile instructions applied to the config (CMD, ENTRYPOINT, ENV,
   * WORKDIR, USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL), as `docker import
   * --change`.  Borrowed. */
  const char *const *changes;
  size_t n_changes;
  kube_image_progress_fn progress;
  void *userdata;
} kube_image_import_options_t;

/* Import `path` (borrowed): a docker-archive (`docker save`, `podman
 * save`), an oci-archive, or a plain rootfs tarball (tar, optionally gzip,
 * zstd, xz or bzip2 compressed) as `docker import` takes.  The names of
 * the images imported go to *names_out (owned NULL-terminated array of
 * owned strings, may be NULL). */
int kube_image_import(kube_image_store_t *store, const char *path,
                      const kube_image_import_options_t *opts,
                      char ***names_out, size_t *n_names_out,
                      kube_error_t *err);

typedef enum kube_image_archive_format {
  KUBE_IMAGE_ARCHIVE_OCI = 0, /* oci-archive */
  KUBE_IMAGE_ARCHIVE_DOCKER,  /* docker-archive (docker save) */
} kube_image_archive_format_t;

/* "oci-archive" / "docker-archive" -> format; -1 when unknown. */
int kube_image_archive_format_parse(const char *s);

/* Write the images `refs` (borrowed, n) to `path` (replaced atomically)
 * in `format`, which `podman load`, `docker load` and `skopeo copy
 * {oci,docker}-archive:` read. */
int kube_image_export(kube_image_store_t *store, const char *const *refs,
                      size_t n, const char *path,
                      kube_image_archive_format_t format, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* Building from a Dockerfile                                                */
/* ------------------------------------------------------------------------ */

typedef enum kube_image_build_network {
  KUBE_IMAGE_BUILD_NETWORK_NONE = 0, /* RUN gets only a loopback */
  KUBE_IMAGE_BUILD_NETWORK_HOST,     /* RUN shares the host's network */
} kube_image_build_network_t;

typedef struct kube_image_build_options {
  size_t struct_size;
  const char *context_dir; /* borrowed; required */
  /* Dockerfile path (borrowed); NULL: CONTEXT/Dockerfile.  Relative paths
   * are relative to the current directory, as docker build -f. */
  const char *dockerfile;
  const char *const *tags; /* names for the result (borrowed, n_tags) */
  size_t n_tags;
  const char *const *build_args; /* "K=V" or "K" (from the environment) */
  size_t n_build_args;
  const char *target; /* stage name; NULL: the last stage */
  bool no_cache;
  kube_image_build_network_t network;
  /* Where RUN containers live: runtime state root and cgroup parent; both
   * NULL: a unique directory under /run/libkube and a unique cgroup
   * "libkube-build-<id>-<step>", removed when the step ends. */
  const char *runtime_root;
  const char *cgroup_parent;
  /* Pull missing base images with these credentials (NULL: store's). */
  const kube_image_transfer_options_t *pull;
  kube_image_progress_fn progress; /* Step lines, output, " ---> " lines */
  void *userdata;
} kube_image_build_options_t;

/* Build the image; *out (may be NULL) describes the result.  A failed
 * RUN fails with the output's last lines and "exit code N" in the message
 * (its whole output went to the progress callback), and no image or name
 * is written.  Bad Dockerfiles: Invalid with "Dockerfile:LINE: ...". */
int kube_image_build(kube_image_store_t *store,
                     const kube_image_build_options_t *opts,
                     kube_image_info_t *out, kube_error_t *err);

/* ------------------------------------------------------------------------ */
/* The built-in registry                                                     */
/* ------------------------------------------------------------------------ */

/* An OCI distribution API v1.1 registry serving the store itself (no
 * copy: a pushed image is runnable at once, a built or pulled one is
 * pullable at once).  A stored "docker.io/library/kubia:latest" is tag
 * latest of repository library/kubia (docker.io's one-component names
 * also answer as "kubia"), any other HOST/PATH:TAG tag TAG of PATH; a tag
 * pushed to repository R keeps the name it has, else becomes docker.io/R
 * (docker.io/library/R for a one-component R), so the registry is the
 * mirror of docker.io that kubed configures by default.
 *
 * It serves GET/HEAD of manifests and blobs (Range), monolithic and
 * chunked uploads (resumable: a chunk that broke off is dropped whole),
 * cross-repository mounts, tags/list and _catalog with n/last paging,
 * DELETE of manifests, tags and blobs (names and links go; content goes
 * at the next prune), the referrers API, with Docker-Content-Digest,
 * OCI-Subject and the spec's error codes.  Uploads are staged under
 * DATA/images.d/uploads and become blobs only once their digest checks.
 *
 * Loopback listeners are plain HTTP without authentication; any other
 * listener speaks TLS and wants the token (Bearer TOKEN, or Basic with
 * the token as password, or a token from its /v2/token endpoint, which
 * takes either).
 *
 * Threading: the registry runs on `loop`; its calls are made from the
 * loop's thread.  Store I/O runs on worker threads. */
typedef struct kube_image_registry kube_image_registry_t;

typedef struct kube_image_registry_options {
  size_t struct_size; /* sizeof(kube_image_registry_options_t) */
  /* Token for non-loopback listeners (borrowed, copied).  Required when
   * such a listener is opened. */
  const char *token;
  /* PEM certificate and key for non-loopback listeners (borrowed paths,
   * copied; read when the listener opens). */
  const char *tls_cert_file;
  const char *tls_key_file;
  /* Worker threads for store I/O (borrowed; must outlive the registry).
   * NULL: a pool of 4 of its own. */
  kube_workers_t *workers;
  /* Largest manifest accepted (0: 4 MiB). */
  size_t max_manifest_bytes;
} kube_image_registry_options_t;

/* A registry for `store` (borrowed; must outlive it) on `loop`
 * (borrowed).  opts may be NULL.  Owned: kube_image_registry_free. */
kube_image_registry_t *
kube_image_registry_new(kube_loop_t *loop, kube_image_store_t *store,
                        const kube_image_registry_options_t *opts,
                        kube_error_t *err);
/* Listen on "tcp:ADDR:PORT" (port 0 picks one).  Returns the bound port,
 * or -1 with err (BadRequest for a bad spec, or a TLS listener without a
 * token or certificate). */
int kube_image_registry_listen(kube_image_registry_t *reg, const char *spec,
                               kube_error_t *err);
/* "HOST:PORT" of the first listener (borrowed; NULL before one), the
 * address clients (and mirrors) use.  A wildcard address reads as
 * 127.0.0.1. */
const char *kube_image_registry_address(const kube_image_registry_t *reg);
/* Stop accepting, let requests in flight finish, then call done(arg) on
 * the loop (possibly inline). */
void kube_image_registry_drain(kube_image_registry_t *reg,
                               void (*done)(void *arg), void *arg);
/* Close everything (requests in flight are cut off).  Accepts NULL. */
void kube_image_registry_free(kube_image_registry_t *reg);

#ifdef __cplusplus
}
#endif
#endif /* LIBKUBE_IMAGE_H */
