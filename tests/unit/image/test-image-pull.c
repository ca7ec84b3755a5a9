/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_image_ensure over the network: store A serves a multi-layer image
 * with the built-in registry (on a loop thread of this process), store B
 * pulls it with policy Always, unpacking each layer as soon as its blob
 * arrives (several at once); two such pulls at once fetch and unpack
 * each layer once.  The top layer hard-links a file of the
 * bottom one (the one case where a layer's unpack waits for its lowers)
 * and whites out another.  A layer whose content does not match its
 * diffID fails the pull without hanging the layers above it and leaves
 * no snapshot or name behind.  Ownership needs root: skips without it.
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
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"

static char base[256];
static kube_image_store_t *src, *dst;
static kube_loop_t *loop;
static kube_image_registry_t *reg;
static pthread_t loop_thread;

static kube_image_store_t *open_store(const char *name) {
  char dir[400];
  snprintf(dir, sizeof dir, "%s/%s", base, name);
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t o = {.struct_size = sizeof o,
                                  .data_dir = dir,
                                  .docker_config = "",
                                  .parallel_transfers = 4};
  kube_image_store_t *s = kube_image_store_open(&o, &err);
  if (!s)
    fail_msg("open %s: %s", dir, err.message);
  return s;
}

static void *run_loop(void *arg) {
  kube_loop_run(arg, NULL);
  return NULL;
}

static int setup(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/kube-img-pull-XXXXXX");
  if (!mkdtemp(base))
    return -1;
  src = open_store("a");
  dst = open_store("b");
  kube_error_t err = KUBE_ERROR_INIT;
  loop = kube_loop_new(&err);
  reg = loop ? kube_image_registry_new(loop, src, NULL, &err) : NULL;
  if (!reg || kube_image_registry_listen(reg, "tcp:127.0.0.1:0", &err) < 0) {
    fprintf(stderr, "registry: %s\n", err.message);
    return -1;
  }
  return pthread_create(&loop_thread, NULL, run_loop, loop) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  kube_loop_quit(loop);
  pthread_join(loop_thread, NULL);
  kube_image_registry_free(reg);
  kube_loop_free(loop);
  kube_image_store_free(src);
  kube_image_store_free(dst);
  img_rmtree(base);
  return 0;
}

struct entry {
  const char *path;
  int type; /* 'f' file, 'd' dir, 'h' hard link (data = target) */
  const char *data;
};

/* An uncompressed layer tar into store s: its descriptor and diffID. */
static void tar_layer(kube_image_store_t *s, const struct entry *ents,
                      img_desc_t *desc, char **diff) {
  char path[400];
  static int seq;
  snprintf(path, sizeof path, "%s/layer-%d.tar", base, seq++);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  for (; ents->path; ents++) {
    archive_entry_clear(e);
    archive_entry_set_pathname(e, ents->path);
    archive_entry_set_mtime(e, 1, 0);
    if (ents->type == 'd') {
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
    } else if (ents->type == 'h') {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_hardlink(e, ents->data);
    } else {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_uid(e, 123);
      archive_entry_set_size(e, (la_int64_t)strlen(ents->data));
    }
    archive_write_header(a, e);
    if (ents->type == 'f')
      archive_write_data(a, ents->data, strlen(ents->data));
  }
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  kube_error_t err = KUBE_ERROR_INIT;
  if (img_layer_store_tar(s, fd, desc, diff, &err) < 0)
    fail_msg("store layer: %s", err.message);
  close(fd);
}

/* Six layers: the bottom one holds /base/data and /base/gone, four hold a
 * file each, the top one hard-links /base/data and whites out
 * /base/gone.  bad_layer >= 0: that layer's diffID is wrong. */
static void make_image(const char *name, int bad_layer) {
  img_desc_t layers[6];
  char *diffs[6];
  struct entry l0[] = {{"base", 'd', NULL},
                       {"base/data", 'f', "bottom layer data\n"},
                       {"base/gone", 'f', "whited out\n"},
                       {NULL, 0, NULL}};
  tar_layer(src, l0, &layers[0], &diffs[0]);
  for (int i = 1; i < 5; i++) {
    char fn[32], body[64];
    snprintf(fn, sizeof fn, "mid%d", i);
    snprintf(body, sizeof body, "%s layer %d\n", name, i);
    struct entry li[] = {{fn, 'f', body}, {NULL, 0, NULL}};
    tar_layer(src, li, &layers[i], &diffs[i]);
  }
  struct entry l5[] = {{"top", 'd', NULL},
                       {"top/link", 'h', "base/data"},
                       {"base/.wh.gone", 'f', ""},
                       {NULL, 0, NULL}};
  tar_layer(src, l5, &layers[5], &diffs[5]);
  json_object *ids = json_object_new_array();
  for (int i = 0; i < 6; i++)
    json_object_array_add(
        ids, json_object_new_string(
                 i == bad_layer ? "sha256:00000000000000000000000000000000"
                                  "00000000000000000000000000000000"
                                : diffs[i]));
  json_object *cfg = json_object_new_object();
  json_object_object_add(cfg, "architecture", json_object_new_string("amd64"));
  json_object_object_add(cfg, "os", json_object_new_string("linux"));
  json_object *rootfs = json_object_new_object();
  json_object_object_add(rootfs, "type", json_object_new_string("layers"));
  json_object_object_add(rootfs, "diff_ids", ids);
  json_object_object_add(cfg, "rootfs", rootfs);
  kube_error_t err = KUBE_ERROR_INIT;
  char *md = NULL;
  int64_t msize = 0;
  assert_int_equal(img_write_image(src, json_object_to_json_string(cfg), layers,
                                   6, &md, &msize, &err),
                   0);
  assert_int_equal(
      img_store_name(src, name, md, IMG_MT_OCI_MANIFEST, msize, NULL, &err), 0);
  free(md);
  json_object_put(cfg);
  for (int i = 0; i < 6; i++) {
    img_desc_clear(&layers[i]);
    free(diffs[i]);
  }
}

static void count_unpack(const kube_image_progress_t *p, void *ud) {
  if (p->kind == KUBE_IMAGE_PROGRESS_UNPACK)
    __atomic_add_fetch((int *)ud, 1, __ATOMIC_SEQ_CST);
}

static int ensure(const char *repo, int *unpacked, kube_error_t *err) {
  char ref[300];
  snprintf(ref, sizeof ref, "%s/%s", kube_image_registry_address(reg), repo);
  kube_image_transfer_options_t o = {
      .struct_size = sizeof o, .progress = count_unpack, .userdata = unpacked};
  kube_image_info_t info;
  int rc = kube_image_ensure(dst, ref, KUBE_IMAGE_PULL_ALWAYS, &o, &info, err);
  if (rc == 0)
    kube_image_info_clear(&info);
  return rc;
}

/* dir/rel holds text that contains `want` (exactly `want` when exact). */
static void assert_text(const char *dir, const char *rel, const char *want,
                        bool exact) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  char *text = img_read_fd(fd, 4096, NULL);
  close(fd);
  assert_non_null(text);
  if (exact)
    assert_string_equal(text, want);
  else
    assert_non_null(strstr(text, want));
  free(text);
}

static size_t count_tmp_snapshots(void) {
  char dir[400];
  snprintf(dir, sizeof dir, "%s/b/images.d/snap", base);
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *de;
  while (d && (de = readdir(d)))
    n += str_has_prefix(de->d_name, "tmp-");
  if (d)
    closedir(d);
  return n;
}

static void test_pull_unpack(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  make_image("docker.io/library/six:1", -1);
  kube_error_t err = KUBE_ERROR_INIT;
  int unpacked = 0;
  if (ensure("library/six:1", &unpacked, &err) < 0)
    fail_msg("ensure: %s", err.message);
  assert_int_equal(unpacked, 6);
  /* the snapshots, bottom first */
  char *md = NULL;
  char ref[300];
  snprintf(ref, sizeof ref, "%s/library/six:1",
           kube_image_registry_address(reg));
  assert_int_equal(img_resolve(dst, ref, &md, NULL, &err), 0);
  img_image_t im;
  assert_int_equal(img_image_load(dst, md, &im, &err), 0);
  free(md);
  char **chains = img_image_chain_ids(&im);
  char *bottom = img_snapshot_dir(dst, chains[0]);
  char *top = img_snapshot_dir(dst, chains[5]);
  char p[600];
  struct stat st;
  snprintf(p, sizeof p, "%s/base/data", bottom);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_uid, 123);
  /* the hard link to a lower layer's file is a copy in the top layer */
  assert_text(top, "top/link", "bottom layer data\n", true);
  snprintf(p, sizeof p, "%s/top/link", top);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_uid, 123);
  snprintf(p, sizeof p, "%s/base/gone", top);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == 0);
  for (size_t i = 1; i < 5; i++) {
    char *mid = img_snapshot_dir(dst, chains[i]);
    snprintf(p, sizeof p, "mid%zu", i);
    assert_text(mid, p, "layer", false);
    free(mid);
  }
  free(bottom);
  free(top);
  img_strv_free(chains);
  img_image_clear(&im);
  /* pulled again: nothing to unpack */
  unpacked = 0;
  assert_int_equal(ensure("library/six:1", &unpacked, &err), 0);
  assert_int_equal(unpacked, 0);
  assert_int_equal(count_tmp_snapshots(), 0);
}

/* Progress of one of two concurrent pulls: unpacks and fresh fetches. */
struct counts {
  int unpacked, fetched;
};

static void count_both(const kube_image_progress_t *p, void *ud) {
  struct counts *c = ud;
  if (p->kind == KUBE_IMAGE_PROGRESS_UNPACK)
    __atomic_add_fetch(&c->unpacked, 1, __ATOMIC_SEQ_CST);
  if (p->kind == KUBE_IMAGE_PROGRESS_LAYER_DONE && p->message &&
      streq(p->message, "done"))
    __atomic_add_fetch(&c->fetched, 1, __ATOMIC_SEQ_CST);
}

struct puller {
  kube_image_store_t *s;
  struct counts *c;
  int rc;
};

static void *pull_thread(void *arg) {
  struct puller *pl = arg;
  char ref[300];
  snprintf(ref, sizeof ref, "%s/library/twice:1",
           kube_image_registry_address(reg));
  kube_image_transfer_options_t o = {
      .struct_size = sizeof o, .progress = count_both, .userdata = pl->c};
  kube_image_info_t info;
  kube_error_t err = KUBE_ERROR_INIT;
  pl->rc =
      kube_image_ensure(pl->s, ref, KUBE_IMAGE_PULL_ALWAYS, &o, &info, &err);
  if (pl->rc == 0)
    kube_image_info_clear(&info);
  else
    fprintf(stderr, "ensure: %s\n", err.message);
  kube_error_clear(&err);
  return NULL;
}

/* Two pulls of one image into one store (two handles, as two processes
 * would have) fetch each blob once and unpack each layer once. */
static void test_concurrent_pulls(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  make_image("docker.io/library/twice:1", -1);
  kube_image_store_t *other = open_store("b");
  struct counts c = {0};
  struct puller p[2] = {{dst, &c, -1}, {other, &c, -1}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&th[i], NULL, pull_thread, &p[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  kube_image_store_free(other);
  assert_int_equal(p[0].rc, 0);
  assert_int_equal(p[1].rc, 0);
  assert_int_equal(c.fetched, 6);
  assert_int_equal(c.unpacked, 6);
}

static void test_bad_layer(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  /* the bottom layer lies: the top layer's hard link waits for it, and
   * must be told it failed */
  make_image("docker.io/library/bad:1", 0);
  kube_error_t err = KUBE_ERROR_INIT;
  int unpacked = 0;
  assert_int_equal(ensure("library/bad:1", &unpacked, &err), -1);
  assert_non_null(strstr(err.message, "the image config says"));
  kube_error_clear(&err);
  kube_image_info_t *v = NULL;
  size_t n = 9;
  assert_int_equal(kube_image_list(dst, &v, &n, &err), 0);
  assert_int_equal(n, 0);
  kube_image_info_free_array(v, n);
  assert_int_equal(count_tmp_snapshots(), 0);
  /* a lie in a middle layer: the others may finish, the pull fails */
  make_image("docker.io/library/bad:2", 3);
  assert_int_equal(ensure("library/bad:2", &unpacked, &err), -1);
  kube_error_clear(&err);
  assert_int_equal(count_tmp_snapshots(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pull_unpack, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_pulls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_layer, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
