/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The content store: layout on disk, verified blob writes, names (tag, rm,
 * lookups by ID prefix), prune, archives round trip, registry
 * configuration (mirrors, rewrites, credentials), and concurrency: threads
 * and processes ensuring the same image unpack each layer once; a rootfs
 * in use survives prune.  Mounts and ownership need root: those skip
 * without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/internal.h"

static char base[256];
static char data[300];
static kube_image_store_t *store;

static kube_image_store_t *open_store(const char *dir) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t o = {
      .struct_size = sizeof o, .data_dir = dir, .docker_config = ""};
  kube_image_store_t *s = kube_image_store_open(&o, &err);
  if (!s)
    fail_msg("open %s: %s", dir, err.message);
  return s;
}

static int setup(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/kube-img-store-XXXXXX");
  if (!mkdtemp(base))
    return -1;
  snprintf(data, sizeof data, "%s/data", base);
  store = open_store(data);
  return store ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  kube_image_store_free(store);
  img_rmtree(base);
  return 0;
}

/* A rootfs tarball with `n` files named by a seed. */
static char *make_rootfs(const char *name, const char *seed, int n) {
  static char path[400];
  snprintf(path, sizeof path, "%s/%s", base, name);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, path);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "etc");
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  archive_write_header(a, e);
  for (int i = 0; i < n; i++) {
    char fn[64], content[64];
    snprintf(fn, sizeof fn, "etc/%s-%d", seed, i);
    snprintf(content, sizeof content, "%s %d\n", seed, i);
    archive_entry_clear(e);
    archive_entry_set_pathname(e, fn);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)strlen(content));
    archive_write_header(a, e);
    archive_write_data(a, content, strlen(content));
  }
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return path;
}

static void import(kube_image_store_t *s, const char *tar, const char *ref) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_import_options_t o = {.struct_size = sizeof o, .ref = ref};
  if (kube_image_import(s, tar, &o, NULL, NULL, &err) < 0)
    fail_msg("import %s: %s", tar, err.message);
}

static size_t count_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static void test_layout(void **state) {
  (void)state;
  char p[400];
  snprintf(p, sizeof p, "%s/images/oci-layout", data);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  char buf[128] = "";
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  assert_non_null(strstr(buf, "\"imageLayoutVersion\":\"1.0.0\""));
  kube_error_t err = KUBE_ERROR_INIT;
  json_object *ix = img_index_load(store, &err);
  assert_non_null(ix);
  assert_int_equal(json_object_array_length(img_index_manifests(ix)), 0);
  json_object_put(ix);
  /* a blob that does not match its expected digest is not stored, and
   * leaves no temporary file behind */
  char *d = NULL;
  assert_int_equal(img_blob_put(store, "abc", 3,
                                "sha256:0000000000000000000000000000000000000"
                                "000000000000000000000000000",
                                &d, &err),
                   -1);
  kube_error_clear(&err);
  img_blob_writer_t w;
  assert_int_equal(img_blob_writer_open(store, &w, &err), 0);
  assert_int_equal(img_blob_writer_write(&w, "abc", 3, &err), 0);
  assert_int_equal(img_blob_writer_commit(&w,
                                          "sha256:1111111111111111111111"
                                          "11111111111111111111111111"
                                          "111111111111111111",
                                          NULL, &err),
                   -1);
  kube_error_clear(&err);
  snprintf(p, sizeof p, "%s/images/blobs/sha256", data);
  assert_int_equal(count_dir(p), 0);
  snprintf(p, sizeof p, "%s/images.d/tmp", data);
  assert_int_equal(count_dir(p), 0);
  /* a good one lands under its digest, and reads back verified */
  assert_int_equal(img_blob_put(store, "abc", 3, NULL, &d, &err), 0);
  assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a39"
                         "6177a9cb410ff61f20015ad");
  size_t len;
  char *back = img_blob_read(store, d, 100, &len, &err);
  assert_non_null(back);
  assert_int_equal(len, 3);
  free(back);
  /* corrupt it: reads fail */
  char *bp = img_blob_path(store, d);
  f = fopen(bp, "w");
  fputs("abd", f);
  fclose(f);
  assert_null(img_blob_read(store, d, 100, &len, &err));
  assert_non_null(strstr(err.message, "corrupt"));
  kube_error_clear(&err);
  free(bp);
  free(d);
}

static void test_names(void **state) {
  (void)state;
  import(store, make_rootfs("a.tar", "a", 3), "busybox");
  import(store, make_rootfs("b.tar", "b", 3), "localhost:5000/x/y:v1");
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_info_t *v;
  size_t n;
  assert_int_equal(kube_image_list(store, &v, &n, &err), 0);
  assert_int_equal(n, 2);
  kube_image_info_free_array(v, n);
  kube_image_info_t info;
  assert_int_equal(kube_image_inspect(store, "busybox:latest", &info, &err), 0);
  assert_int_equal(info.n_names, 1);
  assert_string_equal(info.names[0], "docker.io/library/busybox:latest");
  assert_int_equal(info.n_layers, 1);
  char id[80];
  snprintf(id, sizeof id, "%s", info.id);
  kube_image_info_clear(&info);
  /* by image ID, full and by prefix (4+ hex digits) */
  assert_int_equal(kube_image_inspect(store, id, &info, &err), 0);
  kube_image_info_clear(&info);
  char prefix[16];
  snprintf(prefix, sizeof prefix, "%.8s", id + 7);
  assert_int_equal(kube_image_inspect(store, prefix, &info, &err), 0);
  assert_string_equal(info.id, id);
  kube_image_info_clear(&info);
  /* tag, then the image has two names */
  assert_int_equal(kube_image_tag(store, "busybox", "mirror.io/bb:1", &err), 0);
  assert_int_equal(kube_image_inspect(store, "busybox", &info, &err), 0);
  assert_int_equal(info.n_names, 2);
  kube_image_info_clear(&info);
  assert_int_equal(kube_image_tag(store, "nope", "x", &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_int_equal(
      kube_image_tag(store, "busybox",
                     "x@sha256:"
                     "000000000000"
                     "0000000000000000000000000000000000000000000000000000",
                     &err),
      -1);
  kube_error_clear(&err);
  /* rm a name; the image stays under its other one */
  assert_int_equal(kube_image_remove(store, "busybox", false, &err), 0);
  assert_int_equal(kube_image_inspect(store, "busybox", &info, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  assert_int_equal(kube_image_inspect(store, "mirror.io/bb:1", &info, &err), 0);
  kube_image_info_clear(&info);
  /* prune keeps everything named */
  kube_image_prune_result_t r;
  assert_int_equal(kube_image_prune(store, NULL, &r, &err), 0);
  assert_int_equal(r.blobs_removed, 0);
  /* rm by ID removes every name; prune then removes the content */
  assert_int_equal(kube_image_remove(store, id, false, &err), 0);
  assert_int_equal(kube_image_prune(store, NULL, &r, &err), 0);
  assert_int_equal(r.blobs_removed, 3); /* layer, config, manifest */
  assert_int_equal(kube_image_list(store, &v, &n, &err), 0);
  assert_int_equal(n, 1);
  kube_image_info_free_array(v, n);
  /* prune -a removes unused named images too */
  kube_image_prune_options_t po = {.struct_size = sizeof po, .all = true};
  assert_int_equal(kube_image_prune(store, &po, &r, &err), 0);
  assert_int_equal(r.images_removed, 1);
  char p[400];
  snprintf(p, sizeof p, "%s/images/blobs/sha256", data);
  assert_int_equal(count_dir(p), 0);
  assert_int_equal(kube_image_remove(store, "busybox", false, &err), -1);
  kube_error_clear(&err);
}

static void test_import_changes_and_errors(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  const char *changes[] = {"CMD [\"sh\"]",     "ENV A=1 B=\"two words\"",
                           "WORKDIR /srv",     "EXPOSE 8080 53/udp",
                           "LABEL k=v",        "USER 1000:1000",
                           "STOPSIGNAL SIGINT"};
  kube_image_import_options_t o = {.struct_size = sizeof o,
                                   .ref = "cfg:1",
                                   .changes = changes,
                                   .n_changes = ARRAY_SIZE(changes)};
  char **names = NULL;
  size_t nn = 0;
  assert_int_equal(kube_image_import(store, make_rootfs("c.tar", "c", 1), &o,
                                     &names, &nn, &err),
                   0);
  assert_int_equal(nn, 1);
  assert_string_equal(names[0], "docker.io/library/cfg:1");
  img_strv_free(names);
  kube_image_info_t info;
  assert_int_equal(kube_image_inspect(store, "cfg:1", &info, &err), 0);
  kube_image_config_t *c = &info.config;
  assert_int_equal(c->n_cmd, 1);
  assert_string_equal(c->cmd[0], "sh");
  assert_int_equal(c->n_env, 2);
  assert_string_equal(c->env[1], "B=two words");
  assert_string_equal(c->working_dir, "/srv");
  assert_int_equal(c->n_exposed_ports, 2);
  assert_string_equal(c->exposed_ports[0], "53/udp");
  assert_string_equal(c->exposed_ports[1], "8080/tcp");
  assert_string_equal(c->label_keys[0], "k");
  assert_string_equal(c->user, "1000:1000");
  assert_string_equal(c->stop_signal, "SIGINT");
  kube_image_info_clear(&info);
  /* a rootfs needs a name; a missing file is NotFound; garbage is bad */
  o.ref = NULL;
  o.n_changes = 0;
  assert_int_equal(kube_image_import(store, make_rootfs("d.tar", "d", 1), &o,
                                     NULL, NULL, &err),
                   -1);
  kube_error_clear(&err);
  assert_int_equal(
      kube_image_import(store, "/nonexistent.tar", &o, NULL, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  kube_error_clear(&err);
  char g[400];
  snprintf(g, sizeof g, "%s/garbage", base);
  FILE *f = fopen(g, "w");
  fputs("this is not a tar archive at all, not even close", f);
  fclose(f);
  o.ref = "g";
  assert_int_equal(kube_image_import(store, g, &o, NULL, NULL, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_BAD_REQUEST);
  kube_error_clear(&err);
  const char *bad[] = {"FROM x"};
  o.changes = bad;
  o.n_changes = 1;
  o.ref = "h";
  assert_int_equal(kube_image_import(store, make_rootfs("e.tar", "e", 1), &o,
                                     NULL, NULL, &err),
                   -1);
  assert_non_null(strstr(err.message, "--change"));
  kube_error_clear(&err);
}

static void test_archives(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  import(store, make_rootfs("a.tar", "a", 5), "app:1");
  assert_int_equal(kube_image_tag(store, "app:1", "app:2", &err), 0);
  kube_image_info_t before;
  assert_int_equal(kube_image_inspect(store, "app:1", &before, &err), 0);
  const char *fmts[] = {"oci-archive", "docker-archive"};
  for (size_t i = 0; i < 2; i++) {
    char out[400], dir[400];
    snprintf(out, sizeof out, "%s/out-%zu.tar", base, i);
    snprintf(dir, sizeof dir, "%s/other-%zu", base, i);
    const char *refs[] = {"app:1", "app:2"};
    assert_int_equal(kube_image_export(store, refs, 2, out,
                                       kube_image_archive_format_parse(fmts[i]),
                                       &err),
                     0);
    kube_image_store_t *o = open_store(dir);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(kube_image_import(o, out, NULL, &names, &n, &err), 0);
    assert_int_equal(n, 2);
    img_strv_free(names);
    kube_image_info_t after;
    assert_int_equal(kube_image_inspect(o, "app:2", &after, &err), 0);
    /* the image ID (config digest) survives both formats */
    assert_string_equal(after.id, before.id);
    assert_string_equal(after.diff_ids[0], before.diff_ids[0]);
    kube_image_info_clear(&after);
    kube_image_store_free(o);
  }
  kube_image_info_clear(&before);
  const char *missing[] = {"nope"};
  char out[400];
  snprintf(out, sizeof out, "%s/x.tar", base);
  assert_int_equal(kube_image_export(store, missing, 1, out, 0, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(access(out, F_OK), -1); /* nothing half-written */
}

static void test_regconf(void **state) {
  (void)state;
  char y[400];
  snprintf(y, sizeof y, "%s/registries.yaml", data);
  FILE *f = fopen(y, "w");
  fputs("mirrors:\n"
        "  docker.io:\n"
        "    endpoint:\n"
        "      - \"http://127.0.0.1:5000\"\n"
        "      - \"https://mirror.example.com/v2\"\n"
        "    rewrite:\n"
        "      \"^library/(.*)\": \"mirrored/$1\"\n"
        "  \"*\":\n"
        "    endpoint: [\"https://catchall.example.com\"]\n"
        "configs:\n"
        "  \"127.0.0.1:5000\":\n"
        "    auth: {username: u, password: p}\n"
        "    tls: {insecure_skip_verify: true}\n",
        f);
  fclose(f);
  kube_image_store_t *s = open_store(data);
  kube_image_ref_t r;
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(kube_image_ref_parse("busybox", &r, &err), 0);
  img_endpoint_t *eps;
  size_t n;
  assert_int_equal(img_regconf_endpoints(s->regconf, &r, false, &eps, &n, &err),
                   0);
  assert_int_equal(n, 3);
  assert_string_equal(eps[0].base, "http://127.0.0.1:5000");
  assert_string_equal(eps[0].v2, "/v2");
  assert_string_equal(eps[0].repo, "mirrored/busybox");
  assert_string_equal(eps[0].auth.username, "u");
  assert_true(eps[0].insecure);
  assert_string_equal(eps[1].base, "https://mirror.example.com");
  assert_string_equal(eps[2].base, "https://registry-1.docker.io");
  assert_string_equal(eps[2].repo, "library/busybox");
  for (size_t i = 0; i < n; i++)
    img_endpoint_clear(&eps[i]);
  free(eps);
  /* push goes to the registry itself only */
  assert_int_equal(img_regconf_endpoints(s->regconf, &r, true, &eps, &n, &err),
                   0);
  assert_int_equal(n, 1);
  img_endpoint_clear(&eps[0]);
  free(eps);
  kube_image_ref_clear(&r);
  /* other registries: the "*" mirror, then themselves; loopback may fall
   * back to plain HTTP */
  assert_int_equal(kube_image_ref_parse("localhost:5001/a", &r, &err), 0);
  assert_int_equal(img_regconf_endpoints(s->regconf, &r, false, &eps, &n, &err),
                   0);
  assert_int_equal(n, 2);
  assert_string_equal(eps[0].base, "https://catchall.example.com");
  assert_false(eps[0].http_fallback);
  assert_string_equal(eps[1].base, "https://localhost:5001");
  assert_true(eps[1].http_fallback);
  for (size_t i = 0; i < n; i++)
    img_endpoint_clear(&eps[i]);
  free(eps);
  kube_image_ref_clear(&r);
  kube_image_store_free(s);
  /* a broken registries.yaml is an error that names the file */
  f = fopen(y, "w");
  fputs("mirrors: [\n", f);
  fclose(f);
  kube_image_store_options_t o = {.struct_size = sizeof o, .data_dir = data};
  assert_null(kube_image_store_open(&o, &err));
  assert_non_null(strstr(err.message, "registries.yaml"));
  kube_error_clear(&err);
  unlink(y);
  /* Docker config.json credentials: exact host, docker.io aliases, globs */
  const char *cfg =
      "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dTE6cDE=\"},"
      "\"*.corp.example\":{\"username\":\"u2\",\"password\":\"p2\"},"
      "\"localhost:5000\":{\"auth\":\"dTM6cDM=\"}}}";
  img_auth_t a;
  assert_int_equal(img_auth_from_docker_config(cfg, "docker.io", &a), 0);
  assert_string_equal(a.username, "u1");
  assert_string_equal(a.password, "p1");
  img_auth_clear(&a);
  assert_int_equal(img_auth_from_docker_config(cfg, "reg.corp.example", &a), 0);
  assert_string_equal(a.username, "u2");
  img_auth_clear(&a);
  assert_int_equal(img_auth_from_docker_config(cfg, "localhost:5000", &a), 0);
  assert_string_equal(a.username, "u3");
  img_auth_clear(&a);
  assert_int_equal(img_auth_from_docker_config(cfg, "other.io", &a), -1);
  /* legacy .dockercfg: the map itself */
  assert_int_equal(img_auth_from_docker_config(
                       "{\"quay.io\":{\"auth\":\"dTQ6cDQ=\"}}", "quay.io", &a),
                   0);
  assert_string_equal(a.username, "u4");
  img_auth_clear(&a);
}

/* ---- concurrency and rootfs ---------------------------------------------- */

struct ensure_arg {
  kube_image_store_t *s;
  int unpacked;
  int rc;
};

static void count_unpack(const kube_image_progress_t *p, void *ud) {
  if (p->kind == KUBE_IMAGE_PROGRESS_UNPACK)
    __atomic_add_fetch((int *)ud, 1, __ATOMIC_SEQ_CST);
}

static void *ensure_thread(void *arg) {
  struct ensure_arg *a = arg;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_transfer_options_t o = {.struct_size = sizeof o,
                                     .progress = count_unpack,
                                     .userdata = &a->unpacked};
  kube_image_info_t info;
  a->rc = kube_image_ensure(a->s, "multi:1", KUBE_IMAGE_PULL_NEVER, &o, &info,
                            &err);
  kube_image_info_clear(&info);
  kube_error_clear(&err);
  return NULL;
}

/* An image of three layers: a rootfs import, then two more layers built
 * by hand from directories. */
static void make_multi(kube_image_store_t *s) {
  import(s, make_rootfs("m.tar", "m", 50), "multi:0");
  kube_error_t err = KUBE_ERROR_INIT;
  char *md = NULL;
  assert_int_equal(img_resolve(s, "multi:0", &md, NULL, &err), 0);
  img_image_t im;
  assert_int_equal(img_image_load(s, md, &im, &err), 0);
  free(md);
  img_desc_t layers[3];
  json_object *ids = json_object_new_array();
  layers[0] = im.m.layers[0];
  json_object_array_add(ids, json_object_new_string(im.diff_ids[0]));
  for (int i = 1; i < 3; i++) {
    char dir[400], file[500];
    snprintf(dir, sizeof dir, "%s/layer%d", base, i);
    mkdir(dir, 0755);
    snprintf(file, sizeof file, "%s/file%d", dir, i);
    FILE *f = fopen(file, "w");
    fprintf(f, "layer %d\n", i);
    fclose(f);
    char *diff = NULL;
    assert_int_equal(img_layer_from_dir(s, dir, true, &layers[i], &diff, &err),
                     0);
    json_object_array_add(ids, json_object_new_string(diff));
    free(diff);
  }
  json_object *cfg = NULL;
  json_object_deep_copy(im.config, &cfg, NULL);
  json_object *rootfs = NULL;
  json_object_object_get_ex(cfg, "rootfs", &rootfs);
  json_object_object_add(rootfs, "diff_ids", ids);
  char *m2 = NULL;
  int64_t msize = 0;
  assert_int_equal(img_write_image(s, json_object_to_json_string(cfg), layers,
                                   3, &m2, &msize, &err),
                   0);
  assert_int_equal(img_store_name(s, "docker.io/library/multi:1", m2,
                                  IMG_MT_OCI_MANIFEST, msize, NULL, &err),
                   0);
  free(m2);
  json_object_put(cfg);
  for (int i = 1; i < 3; i++)
    img_desc_clear(&layers[i]);
  img_image_clear(&im);
}

static void test_concurrent_ensure(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  make_multi(store);
  /* threads of one process */
  enum { N = 6 };
  struct ensure_arg a[N];
  pthread_t th[N];
  int total = 0;
  for (int i = 0; i < N; i++) {
    a[i] = (struct ensure_arg){.s = store};
    pthread_create(&th[i], NULL, ensure_thread, &a[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(a[i].rc, 0);
    total += a[i].unpacked;
  }
  assert_int_equal(total, 3); /* each layer once */
  /* processes: a second store handle in children, on a fresh layer set */
  char p[400];
  snprintf(p, sizeof p, "%s/images.d/snap", data);
  kube_image_prune_options_t po = {.struct_size = sizeof po};
  kube_error_t err = KUBE_ERROR_INIT;
  /* drop the snapshots: prune with nothing named keeps them, so unname */
  assert_int_equal(kube_image_remove(store, "multi:1", true, &err), 0);
  assert_int_equal(kube_image_remove(store, "multi:0", true, &err), 0);
  assert_int_equal(kube_image_prune(store, &po, NULL, &err), 0);
  assert_int_equal(count_dir(p), 0);
  make_multi(store);
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  pid_t pids[3];
  for (int i = 0; i < 3; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      kube_image_store_t *s2 = open_store(data);
      struct ensure_arg c = {.s = s2};
      ensure_thread(&c);
      char msg[2] = {(char)('0' + c.unpacked), c.rc == 0 ? 'y' : 'n'};
      write(pipefd[1], msg, 2);
      _exit(0);
    }
  }
  close(pipefd[1]);
  total = 0;
  char msg[2];
  while (read(pipefd[0], msg, 2) == 2) {
    assert_int_equal(msg[1], 'y');
    total += msg[0] - '0';
  }
  close(pipefd[0]);
  for (int i = 0; i < 3; i++)
    waitpid(pids[i], NULL, 0);
  assert_int_equal(total, 3);
}

static void test_rootfs(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  make_multi(store);
  kube_error_t err = KUBE_ERROR_INIT;
  char dir[400];
  snprintf(dir, sizeof dir, "%s/pods/uid1/c1", base);
  char *mnt = NULL;
  if (kube_image_rootfs_prepare(store, "multi:1", dir, &mnt, &err) < 0) {
    if (err.errnum == EPERM || err.errnum == ENODEV)
      skip(); /* no overlayfs here */
    fail_msg("prepare: %s", err.message);
  }
  char p[600];
  snprintf(p, sizeof p, "%s/file2", mnt);
  assert_int_equal(access(p, F_OK), 0);
  snprintf(p, sizeof p, "%s/etc/m-7", mnt);
  assert_int_equal(access(p, F_OK), 0);
  /* writes go to the container's upper directory */
  snprintf(p, sizeof p, "%s/new", mnt);
  FILE *f = fopen(p, "w");
  fputs("x", f);
  fclose(f);
  snprintf(p, sizeof p, "%s/upper/new", dir);
  assert_int_equal(access(p, F_OK), 0);
  /* idempotent */
  char *again = NULL;
  assert_int_equal(
      kube_image_rootfs_prepare(store, "multi:1", dir, &again, &err), 0);
  assert_string_equal(again, mnt);
  free(again);
  /* in use: rm refuses, prune -a keeps it */
  kube_image_info_t info;
  assert_int_equal(kube_image_inspect(store, "multi:1", &info, &err), 0);
  assert_true(info.in_use);
  kube_image_info_clear(&info);
  assert_int_equal(kube_image_remove(store, "multi:1", false, &err), -1);
  assert_int_equal(err.reason, KUBE_REASON_CONFLICT);
  kube_error_clear(&err);
  kube_image_prune_options_t po = {.struct_size = sizeof po, .all = true};
  kube_image_prune_result_t r;
  assert_int_equal(kube_image_prune(store, &po, &r, &err), 0);
  assert_int_equal(kube_image_inspect(store, "multi:1", &info, &err), 0);
  kube_image_info_clear(&info);
  snprintf(p, sizeof p, "%s/file2", mnt);
  assert_int_equal(access(p, F_OK), 0);
  /* release: unmounted, gone, and prune may take the image now */
  assert_int_equal(kube_image_rootfs_release(store, dir, &err), 0);
  assert_int_equal(access(dir, F_OK), -1);
  assert_int_equal(kube_image_rootfs_release(store, dir, &err), 0);
  assert_int_equal(kube_image_prune(store, &po, &r, &err), 0);
  assert_true(r.images_removed >= 1);
  assert_true(r.snapshots_removed >= 3);
  free(mnt);
  /* kube_image_use marks without a rootfs */
  make_multi(store);
  assert_int_equal(kube_image_use(store, "multi:1", "pod-x", &err), 0);
  assert_int_equal(kube_image_prune(store, &po, &r, &err), 0);
  assert_int_equal(kube_image_inspect(store, "multi:1", &info, &err), 0);
  kube_image_info_clear(&info);
  assert_int_equal(kube_image_unuse(store, "pod-x", &err), 0);
  assert_int_equal(kube_image_prune(store, &po, &r, &err), 0);
  assert_int_equal(kube_image_inspect(store, "multi:1", &info, &err), -1);
  kube_error_clear(&err);
}

static void test_never_and_default(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_info_t info;
  assert_int_equal(kube_image_ensure(store, "absent:1", KUBE_IMAGE_PULL_NEVER,
                                     NULL, &info, &err),
                   -1);
  assert_int_equal(err.reason, KUBE_REASON_NOT_FOUND);
  assert_non_null(strstr(err.message, "ErrImageNeverPull"));
  kube_error_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_import_changes_and_errors, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_archives, setup, teardown),
      cmocka_unit_test_setup_teardown(test_regconf, setup, teardown),
      cmocka_unit_test_setup_teardown(test_never_and_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_ensure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rootfs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
