/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the image module (prefix img_), shared by its files only.
 *
 * On disk, under the data directory DATA:
 *   images/                 the OCI image layout (the source of truth)
 *     oci-layout, index.json, blobs/sha256/<hex>
 *   images.d/               everything else, never read by other tools
 *     gc.lock               shared by every call that adds content,
 *                           exclusive for prune: prune never deletes what
 *                           a running pull/build/import is about to name
 *     index.lock            exclusive around read-modify-write of index.json
 *     locks/<key>           one flock per blob fetch / snapshot unpack, so
 *                           two concurrent pulls of one image work once
 *     tmp/                  blobs being written (same file system: rename)
 *     uploads/<uuid>        staged registry uploads (the registry server)
 *     snap/<16 hex>         a layer's files in overlayfs form, named by the
 *                           first 16 hex digits of its chain ID (short, so
 *                           many layers fit in one overlay mount option)
 *     snap/<16 hex>.chain   its full chain ID (written before the rename
 *                           that publishes snap/<16 hex>)
 *     used/<manifest hex>   mtime = last use (LRU for threshold GC)
 *     leases/<sha256(holder)>  in-use marks (JSON: holder, manifest, dir)
 *     cache/<key hex>       build cache: key -> manifest digest
 */
#ifndef KUBE_IMAGE_INTERNAL_H
#define KUBE_IMAGE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include <libkube/image.h>

#include "core/util.h"

#define IMG_REF_NAME "org.opencontainers.image.ref.name"
#define IMG_ANN_REPO_DIGEST "io.libkube.image.repo-digest"
#define IMG_ANN_CREATED "org.opencontainers.image.created"

#define IMG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_DOCKER_MANIFEST                                                 \
  "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_LIST                                                     \
  "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMG_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_LAYER_FOREIGN                                            \
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Manifests and configs larger than this are refused (registries cap
 * manifests at 4 MiB). */
#define IMG_MAX_MANIFEST (4 << 20)
#define IMG_MAX_CONFIG (8 << 20)

/* ---- digests (digest.c) -------------------------------------------------- */

typedef struct img_hash {
  EVP_MD_CTX *ctx;
} img_hash_t;

int img_hash_init(img_hash_t *h, kube_error_t *err);
void img_hash_update(img_hash_t *h, const void *data, size_t len);
/* "sha256:<hex>" into out (>= 72 bytes); frees the context. */
void img_hash_final(img_hash_t *h, char out[72]);
void img_hash_clear(img_hash_t *h);
/* "sha256:<hex>" of a buffer (owned); NULL on OOM. */
char *img_digest_of(const void *data, size_t len);
/* True for "sha256:" + 64 lowercase hex digits (the only algorithm the
 * store keeps). */
bool img_digest_valid(const char *d);
/* Any OCI digest: algorithm ":" encoded (for error messages). */
bool img_digest_syntax_valid(const char *d);
/* The hex part of a valid digest (borrowed from d). */
static inline const char *img_digest_hex(const char *d) {
  return d + 7;
}
/* sha256(parent + " " + diff_id), or diff_id when parent is NULL. */
char *img_chain_id(const char *parent, const char *diff_id);

/* ---- the store (store.c, layout.c) -------------------------------------- */

struct img_regconf;

struct kube_image_store {
  char *data_dir;
  char *layout; /* DATA/images */
  char *blobs;  /* DATA/images/blobs/sha256 */
  char *state;  /* DATA/images.d */
  unsigned parallel;
  bool local_is_mirror;
  struct img_regconf *regconf; /* mirrors/configs + docker config auth */
};

/* DATA/images.d/<rel> (owned). */
char *img_state_path(const kube_image_store_t *s, const char *rel);
char *img_blob_path(const kube_image_store_t *s, const char *digest);
/* stat of a blob; false when absent.  *size may be NULL. */
bool img_blob_exists(const kube_image_store_t *s, const char *digest,
                     int64_t *size);

/* Locks (flock; a fresh open file description per call, so threads of one
 * process exclude each other too).  Return an fd to give to img_unlock, or
 * -1 with err. */
int img_lock(const kube_image_store_t *s, const char *name, bool exclusive,
             kube_error_t *err);
void img_unlock(int fd);
/* Lock images.d/locks/<key> exclusively. */
int img_lock_key(const kube_image_store_t *s, const char *prefix,
                 const char *key, kube_error_t *err);

/* Writing a blob: temp file in images.d/tmp, hashed as it is written,
 * verified, fsync'ed and renamed to blobs/sha256/<hex>. */
typedef struct img_blob_writer {
  const kube_image_store_t *s;
  int fd;
  char *tmp;
  img_hash_t h;
  int64_t size;
} img_blob_writer_t;

int img_blob_writer_open(const kube_image_store_t *s, img_blob_writer_t *w,
                         kube_error_t *err);
int img_blob_writer_write(img_blob_writer_t *w, const void *data, size_t len,
                          kube_error_t *err);
/* Verify against `expect` (NULL: anything) and publish.  *digest_out (may
 * be NULL) receives "sha256:..." (owned).  The writer is closed either
 * way. */
int img_blob_writer_commit(img_blob_writer_t *w, const char *expect,
                           char **digest_out, kube_error_t *err);
void img_blob_writer_abort(img_blob_writer_t *w);
/* A whole buffer as a blob. */
int img_blob_put(const kube_image_store_t *s, const void *data, size_t len,
                 const char *expect, char **digest_out, kube_error_t *err);
/* Read a blob of at most max bytes, verified against its digest (owned,
 * NUL-terminated; *len may be NULL). */
char *img_blob_read(const kube_image_store_t *s, const char *digest, size_t max,
                    size_t *len, kube_error_t *err);

/* index.json: load (owned json) and atomic read-modify-write under
 * index.lock. */
json_object *img_index_load(const kube_image_store_t *s, kube_error_t *err);
typedef int (*img_index_edit_fn)(json_object *index, void *arg,
                                 kube_error_t *err);
int img_index_edit(const kube_image_store_t *s, img_index_edit_fn fn, void *arg,
                   kube_error_t *err);
/* The manifests array of an index (created when absent; borrowed). */
json_object *img_index_manifests(json_object *index);
/* Name `name` (normalized) -> manifest descriptor in the index, replacing
 * what it named.  repo_digest may be NULL. */
int img_index_set(json_object *index, const char *name, const char *digest,
                  const char *media_type, int64_t size,
                  const char *repo_digest);
/* Name a manifest (locks, edits, saves). */
int img_store_name(const kube_image_store_t *s, const char *name,
                   const char *digest, const char *media_type, int64_t size,
                   const char *repo_digest, kube_error_t *err);

/* ---- manifests and configs (manifest.c) --------------------------------- */

typedef struct img_desc {
  char *media_type;
  char *digest;
  int64_t size;
  char *os, *arch, *variant; /* platform of an index entry, or NULL */
  char **urls;               /* foreign layers (ignored, kept) */
  size_t n_urls;
} img_desc_t;

void img_desc_clear(img_desc_t *d);
int img_desc_from_json(json_object *o, img_desc_t *out, kube_error_t *err);
json_object *img_desc_to_json(const img_desc_t *d);

typedef struct img_manifest {
  char *media_type;
  img_desc_t config;
  img_desc_t *layers;
  size_t n_layers;
} img_manifest_t;

void img_manifest_clear(img_manifest_t *m);
/* Parse an image manifest (OCI or Docker schema2).  BadRequest otherwise;
 * indexes give NotAcceptable so callers can tell them apart. */
int img_manifest_parse(const char *json, size_t len, img_manifest_t *out,
                       kube_error_t *err);
/* True when the media type (or, when NULL, the JSON) is an index or list. */
bool img_is_index(const char *media_type, const char *json, size_t len);
/* Pick the platform's manifest of an index: descriptor (owned). */
int img_index_select(const char *json, size_t len, const char *platform,
                     img_desc_t *out, kube_error_t *err);
bool img_layer_media_type_ok(const char *mt);

/* An image of the store: its manifest, config (json, owned) and diffIDs. */
typedef struct img_image {
  char *manifest_digest;
  char *manifest_json;
  size_t manifest_len;
  img_manifest_t m;
  json_object *config;
  char **diff_ids; /* n = m.n_layers */
} img_image_t;

void img_image_clear(img_image_t *im);
int img_image_load(const kube_image_store_t *s, const char *manifest_digest,
                   img_image_t *out, kube_error_t *err);
/* The same from a manifest in memory (json, len: borrowed, verified by the
 * caller to hash to manifest_digest) whose config is in the store. */
int img_image_load_json(const kube_image_store_t *s,
                        const char *manifest_digest, const char *json,
                        size_t len, img_image_t *out, kube_error_t *err);
/* Parse the runtime config part of a config json. */
int img_config_from_json(json_object *config, kube_image_config_t *out,
                         kube_error_t *err);
/* Chain IDs of the image's layers (owned array of owned strings). */
char **img_image_chain_ids(const img_image_t *im);
void img_strv_free(char **v);
size_t img_strv_len(char *const *v);
/* NULL-terminated copy of a json string array (owned); NULL, n=0 when not
 * an array. */
char **img_json_strv(json_object *arr, size_t *n);
json_object *img_strv_to_json(char *const *v);
const char *img_json_str(json_object *o, const char *key);

/* ---- names and lookups (images.c) --------------------------------------- */

/* Resolve a user's reference to a manifest digest (owned) in the store;
 * *name_out (may be NULL) receives the normalized name matched (or NULL
 * for digest/ID lookups).  NotFound when absent. */
int img_resolve(const kube_image_store_t *s, const char *ref, char **digest_out,
                char **name_out, kube_error_t *err);
int img_info_fill(const kube_image_store_t *s, const img_image_t *im,
                  json_object *index, kube_image_info_t *out,
                  kube_error_t *err);
/* Name the stored manifest md `name` (normalized), with its media type
 * and size from the blob; repo_digest may be NULL. */
int img_name_manifest(const kube_image_store_t *s, const char *name,
                      const char *md, const char *repo_digest,
                      kube_error_t *err);
/* Read fd to its end, at most max bytes (owned, NUL-terminated; *len may
 * be NULL); NULL with errno set on a read error or when longer. */
char *img_read_fd(int fd, size_t max, size_t *len);
/* Record a use now (images.d/used/<hex>). */
void img_touch_used(const kube_image_store_t *s, const char *manifest_digest);
/* Store a new image: config json text + layers -> config blob, manifest
 * blob (OCI); *manifest_out receives its digest (owned). */
int img_write_image(const kube_image_store_t *s, const char *config_json,
                    const img_desc_t *layers, size_t n_layers,
                    char **manifest_out, int64_t *manifest_size,
                    kube_error_t *err);

/* ---- layers (unpack.c, layer-write.c) ----------------------------------- */

/* Apply a layer stream read from fd (gzip, zstd, xz, bzip2 or plain tar)
 * into the directory root_fd.  Whiteouts become overlay whiteouts when
 * `overlay` (else they delete the path, and ".wh." entries are applied as
 * in a merged tree); no path ever leaves root_fd.  When diff_id is not
 * NULL the uncompressed stream must hash to it.  Hard links to files
 * missing from this layer are copied from `lower_fds` (n, topmost first),
 * or, when lower_fds is NULL and get_lowers is set, from the fds that
 * get_lowers gives the first time a hard link needs them (it may block
 * until other threads have unpacked the lower layers; the fds stay the
 * callback owner's).
 * The caller must be root for devices and ownership; without
 * `keep_owner` files are owned by the caller. */
typedef struct img_unpack_options {
  bool overlay;      /* whiteouts as 0:0 devices + opaque xattr */
  bool keep_owner;   /* chown to the tar's uid/gid */
  bool no_whiteouts; /* ADD of a tar: ".wh." names are plain files */
  const char *diff_id;
  const int *lower_fds;
  size_t n_lower;
  int (*get_lowers)(void *arg, const int **fds, size_t *n, kube_error_t *err);
  void *lowers_arg;
  /* ADD --chown / COPY semantics: force owner (uid/gid >= 0). */
  int64_t force_uid, force_gid;
} img_unpack_options_t;

int img_unpack_fd(int fd, int root_fd, const img_unpack_options_t *o,
                  char **diff_id_out, kube_error_t *err);

/* Resolve `path` under root_fd (RESOLVE_IN_ROOT) creating missing
 * directories (mode 0755) when mkdirs; returns an O_PATH|O_DIRECTORY fd
 * of the parent of the last component, *base (owned) the last component.
 * path "" or "/" gives root_fd dup'ed and base "". */
int img_resolve_parent(int root_fd, const char *path, bool mkdirs, char **base,
                       kube_error_t *err);
/* Lexically clean `path` as Go's filepath.Clean("/" + path) minus the
 * leading slash: "" for the root (owned). */
char *img_clean_path(const char *path);

/* Write a layer tar from an overlay upper directory (whiteout devices ->
 * ".wh." entries, opaque dirs -> ".wh..wh..opq") into the blob store,
 * gzip-compressed (level 1) unless !compress.  *desc_out gets the layer
 * descriptor, *diff_id_out the uncompressed digest (owned). */
int img_layer_from_dir(const kube_image_store_t *s, const char *dir,
                       bool compress, img_desc_t *desc_out, char **diff_id_out,
                       kube_error_t *err);
/* Store a tar (optionally compressed) read from fd as an uncompressed
 * layer blob; its digest is also the diffID. */
int img_layer_store_tar(const kube_image_store_t *s, int fd,
                        img_desc_t *desc_out, char **diff_id_out,
                        kube_error_t *err);

/* ---- snapshots and rootfs (snapshot.c) ---------------------------------- */

/* Progress events from several threads (pull.c). */
typedef struct img_progress {
  kube_image_progress_fn fn;
  void *userdata;
  pthread_mutex_t mu;
} img_progress_t;

/* Unpack every layer of the image that has no snapshot yet (one at a
 * time per chain ID across threads and processes).  *dirs_out (may be
 * NULL) receives the snapshot directories, topmost first (owned). */
int img_snapshots_ensure(const kube_image_store_t *s, const img_image_t *im,
                         kube_image_progress_fn progress, void *userdata,
                         char ***dirs_out, kube_error_t *err);
/* One image's layers being unpacked, possibly by several threads at
 * once, each layer as soon as its blob is in the store (a pull's fetch
 * workers): snapshots are separate directories, so only a hard link to a
 * lower layer's file waits for the lower layers. */
typedef struct img_snap_plan {
  const kube_image_store_t *s;
  const img_image_t *im; /* borrowed */
  char **chains, **dirs; /* per layer, bottom first (owned) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  signed char *state; /* per layer: 0 pending, 1 present, -1 failed */
  bool failed;        /* img_snap_plan_fail: nobody waits any more */
} img_snap_plan_t;

int img_snap_plan_init(img_snap_plan_t *p, const kube_image_store_t *s,
                       const img_image_t *im, kube_error_t *err);
void img_snap_plan_clear(img_snap_plan_t *p);
/* Unpack layer i unless its snapshot exists (thread-safe). */
int img_snap_plan_layer(img_snap_plan_t *p, size_t i, img_progress_t *prog,
                        kube_error_t *err);
/* Wake and fail whoever waits for a lower layer (a fetch failed). */
void img_snap_plan_fail(img_snap_plan_t *p);
/* snap/<16 hex> for a chain ID (owned). */
char *img_snapshot_dir(const kube_image_store_t *s, const char *chain_id);
/* Adopt `dir` (an overlay upper directory, moved) as the snapshot of
 * chain_id unless one exists (then dir is removed). */
int img_snapshot_adopt(const kube_image_store_t *s, const char *chain_id,
                       const char *dir, kube_error_t *err);
/* Overlay options "lowerdir=a:b,upperdir=..,workdir=.." and mount.  With
 * upper NULL a read-only overlay of the lowers (at least 1). */
int img_overlay_mount(char *const *lowers, const char *upper, const char *work,
                      const char *target, kube_error_t *err);
/* An empty directory for images without layers (owned path). */
char *img_empty_snapshot(const kube_image_store_t *s, kube_error_t *err);
/* rm -rf (no crossing mount points; unmounts nothing). */
int img_rmtree(const char *path);
int img_rmtree_at(int dirfd, const char *name);
int img_mkdir_p(const char *path, mode_t mode);
/* Lease files. */
int img_lease_put(const kube_image_store_t *s, const char *holder,
                  const char *manifest_digest, const char *dir,
                  kube_error_t *err);
int img_lease_drop(const kube_image_store_t *s, const char *holder,
                   kube_error_t *err);

/* ---- references (ref.c) ------------------------------------------------- */

/* "registry-1.docker.io" for docker.io, else the domain (borrowed). */
const char *img_registry_host(const char *domain);

/* ---- Dockerfile (dockerfile.c) ------------------------------------------ */

typedef struct img_df_flag {
  char *name; /* "from", "chown", "chmod", "interval", "link" ... */
  char *value;
} img_df_flag_t;

typedef struct img_df_instr {
  char *cmd;      /* lowercased: "from", "run", ... */
  char *original; /* the logical line as written (continuations joined) */
  int line;       /* first line, 1-based */
  img_df_flag_t *flags;
  size_t n_flags;
  char **args; /* words (exec/JSON form: the array items) */
  size_t n_args;
  bool json;  /* JSON (exec) form */
  char *rest; /* everything after the flags (shell form text) */
  struct img_df_instr *next_onbuild; /* unused */
} img_df_instr_t;

typedef struct img_dockerfile {
  char escape; /* '\\' or '`' */
  img_df_instr_t *instrs;
  size_t n;
} img_dockerfile_t;

int img_dockerfile_parse(const char *text, size_t len, img_dockerfile_t *out,
                         kube_error_t *err);
void img_dockerfile_clear(img_dockerfile_t *df);
/* Parse one instruction line (ONBUILD triggers, --change). */
int img_dockerfile_parse_line(const char *line, char escape,
                              img_df_instr_t *out, kube_error_t *err);
void img_df_instr_clear(img_df_instr_t *in);
/* Expand $VAR, ${VAR}, ${VAR:-x}, ${VAR:+x}, ${VAR-x}, ${VAR+x} against
 * lookup (NULL: unset), honouring escape and single quotes as
 * buildkit's shell lexer does for word processing.  Owned. */
typedef const char *(*img_df_lookup_fn)(void *ctx, const char *name);
char *img_df_expand(const char *word, char escape, img_df_lookup_fn lookup,
                    void *ctx, kube_error_t *err);
/* Split "a b 'c d'" into words with quotes removed and variables
 * expanded (ENV/LABEL/ARG key=value parsing uses it). */
char **img_df_words(const char *text, char escape, img_df_lookup_fn lookup,
                    void *ctx, size_t *n, kube_error_t *err);

/* Apply a config-only instruction (ENV, CMD, ENTRYPOINT, WORKDIR, USER,
 * EXPOSE, LABEL, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD) to the
 * "config" object of an image config.  Unknown or filesystem
 * instructions: Invalid. */
int img_df_apply_config(json_object *config, const img_df_instr_t *in,
                        char escape, img_df_lookup_fn lookup, void *ctx,
                        kube_error_t *err);

/* .dockerignore patterns (build-copy.c). */
typedef struct img_ignore {
  char **patterns; /* cleaned; '!' kept as first char for exceptions */
  size_t n;
} img_ignore_t;

int img_ignore_parse(const char *text, img_ignore_t *out, kube_error_t *err);
void img_ignore_clear(img_ignore_t *ig);
/* True when rel (a cleaned context path) is excluded. */
bool img_ignore_match(const img_ignore_t *ig, const char *rel);

/* ---- registry configuration (regconf.c) ---------------------------------- */

typedef struct img_auth {
  char *username;
  char *password;
  char *identity_token;
} img_auth_t;

void img_auth_clear(img_auth_t *a);
struct img_regconf *img_regconf_load(const char *registries_yaml,
                                     bool yaml_optional,
                                     const char *docker_config,
                                     kube_error_t *err);
void img_regconf_free(struct img_regconf *rc);
/* Find credentials for host in a docker config JSON text. */
int img_auth_from_docker_config(const char *json, const char *host,
                                img_auth_t *out);

/* One place to fetch from / push to. */
typedef struct img_endpoint {
  char *base;         /* "https://host:port" */
  char *v2;           /* path prefix, "/v2" normally */
  char *repo;         /* repository path on that endpoint (after rewrites) */
  char *host;         /* host[:port] for auth/TLS config lookups */
  bool insecure;      /* skip TLS verification */
  bool http_fallback; /* loopback: retry over http when https fails */
  char *ca_file, *cert_file, *key_file;
  img_auth_t auth; /* from registries.yaml configs */
} img_endpoint_t;

void img_endpoint_clear(img_endpoint_t *e);
/* Endpoints for a reference: mirrors (with rewrites) then the registry
 * itself.  push=true: only the registry itself. */
int img_regconf_endpoints(const struct img_regconf *rc,
                          const kube_image_ref_t *ref, bool push,
                          img_endpoint_t **out, size_t *n, kube_error_t *err);
/* Credentials from docker config.json for host (false when none). */
bool img_regconf_docker_auth(const struct img_regconf *rc, const char *host,
                             img_auth_t *out);

/* ---- registry client (registry.c, pull.c, push.c) ----------------------- */

void img_progress_init(img_progress_t *p, kube_image_progress_fn fn,
                       void *userdata);
void img_progress_emit(img_progress_t *p, kube_image_progress_kind_t kind,
                       const char *id, const char *message, int64_t current,
                       int64_t total);
void img_progress_clear(img_progress_t *p);

/* Pull ref into the store: *manifest_out the stored manifest's digest,
 * *remote_digest_out what the registry served (an index's, for a
 * multi-platform image); with unpack, the layers' snapshots are made as
 * the layers arrive (the node agent's ensure). */
int img_pull(kube_image_store_t *s, const kube_image_ref_t *ref,
             const kube_image_transfer_options_t *o, bool unpack,
             char **manifest_out, char **remote_digest_out, kube_error_t *err);

/* ---- archives (archive.c) ------------------------------------------------ */

#endif /* KUBE_IMAGE_INTERNAL_H */
