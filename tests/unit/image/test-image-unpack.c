/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The layer unpacker: tar-slip attempts ("..", absolute names, symlinked
 * parents, hard links out, symlink chains) never write outside the target;
 * whiteouts and opaque directories become overlayfs form; hard links,
 * xattrs, devices, ownership, modes and mtimes are kept; the diffID is
 * verified; compressed layers (gzip, zstd) read the same.  Also the layer
 * writer: a directory in overlay form becomes the tar a registry expects,
 * and unpacking it again gives the same tree.  Ownership, devices and
 * trusted.* xattrs need root: without it those tests skip.
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
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/internal.h"

static char base[256]; /* per test: base/target, base/outside */
static char target[300];
static char outside[300];

static int setup(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/kube-img-unpack-XXXXXX");
  if (!mkdtemp(base))
    return -1;
  snprintf(target, sizeof target, "%s/target", base);
  snprintf(outside, sizeof outside, "%s/outside", base);
  return mkdir(target, 0755) || mkdir(outside, 0755);
}

static int teardown(void **state) {
  (void)state;
  img_rmtree(base);
  return 0;
}

/* ---- building test tars -------------------------------------------------- */

struct tw {
  struct archive *a;
  char path[300];
};

static void tw_open(struct tw *t, const char *name, const char *filter) {
  snprintf(t->path, sizeof t->path, "%s/%s", base, name);
  t->a = archive_write_new();
  archive_write_set_format_pax_restricted(t->a);
  if (filter)
    archive_write_add_filter_by_name(t->a, filter);
  assert_int_equal(archive_write_open_filename(t->a, t->path), ARCHIVE_OK);
}

static void tw_add(struct tw *t, const char *name, mode_t type, mode_t perm,
                   const char *data, const char *link, bool hard) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, perm);
  archive_entry_set_uid(e, 1234);
  archive_entry_set_gid(e, 5678);
  archive_entry_set_mtime(e, 1000000000, 0);
  size_t len = data ? strlen(data) : 0;
  archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)len : 0);
  if (link && hard)
    archive_entry_set_hardlink(e, link);
  else if (link)
    archive_entry_set_symlink(e, link);
  assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
  if (len && !hard)
    archive_write_data(t->a, data, len);
  archive_entry_free(e);
}

static void tw_file(struct tw *t, const char *name, const char *data) {
  tw_add(t, name, AE_IFREG, 0644, data, NULL, false);
}

static void tw_close(struct tw *t) {
  archive_write_close(t->a);
  archive_write_free(t->a);
}

static int unpack(const char *path, bool overlay, const char *diff_id,
                  char **diff_out, kube_error_t *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int root = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  img_unpack_options_t o = {.overlay = overlay,
                            .keep_owner = geteuid() == 0,
                            .diff_id = diff_id,
                            .force_uid = -1,
                            .force_gid = -1};
  int rc = img_unpack_fd(fd, root, &o, diff_out, err);
  close(fd);
  close(root);
  return rc;
}

static bool exists_at(const char *dir, const char *rel) {
  char p[1300];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  return lstat(p, &st) == 0;
}

static char *read_at(const char *dir, const char *rel) {
  static char buf[256];
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "r");
  if (!f)
    return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Nothing exists in base except target/ and outside/ (both checked). */
static void assert_no_escape(void) {
  DIR *d = opendir(base);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || streq(de->d_name, "target") ||
        streq(de->d_name, "outside") || str_has_suffix(de->d_name, ".tar") ||
        str_has_suffix(de->d_name, ".gz") || str_has_suffix(de->d_name, ".zst"))
      continue;
    fail_msg("unexpected %s/%s", base, de->d_name);
  }
  closedir(d);
  d = opendir(outside);
  int n = 0;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      n++;
  closedir(d);
  assert_int_equal(n, 0);
}

/* ---- tar-slip ------------------------------------------------------------ */

static void test_dotdot(void **state) {
  (void)state;
  struct tw t;
  tw_open(&t, "dotdot.tar", NULL);
  tw_file(&t, "../outside/evil", "x");
  tw_file(&t, "a/../../outside/evil2", "x");
  tw_file(&t, "./../../../../../../tmp/../outside/evil3", "x");
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  assert_no_escape();
  /* ".." is cleaned against the root, as Go's filepath.Clean("/"+name) */
  assert_string_equal(read_at(target, "outside/evil"), "x");
  assert_string_equal(read_at(target, "outside/evil2"), "x");
  assert_string_equal(read_at(target, "outside/evil3"), "x");
}

static void test_absolute(void **state) {
  (void)state;
  char abs[400];
  snprintf(abs, sizeof abs, "%s/evil", outside);
  struct tw t;
  tw_open(&t, "abs.tar", NULL);
  tw_file(&t, abs, "x");
  tw_file(&t, "/etc/passwd-kube-test", "x");
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  assert_no_escape();
  assert_false(exists_at("/etc", "passwd-kube-test"));
  assert_true(exists_at(target, "etc/passwd-kube-test"));
}

static void test_symlink_parent(void **state) {
  (void)state;
  kube_error_t err = KUBE_ERROR_INIT;
  /* an absolute symlink to the outside, then a file through it: it
   * resolves inside the root, where that directory does not exist, so the
   * layer is refused */
  struct tw t;
  tw_open(&t, "symlink1.tar", NULL);
  tw_add(&t, "link", AE_IFLNK, 0777, NULL, outside, false);
  tw_file(&t, "link/evil", "x");
  tw_close(&t);
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), -1);
  assert_non_null(strstr(err.message, "link/evil"));
  kube_error_clear(&err);
  assert_no_escape();
  /* the same when the directory exists inside: written there */
  char inside[600];
  snprintf(inside, sizeof inside, "%s%s", target, outside);
  assert_int_equal(img_mkdir_p(inside, 0755), 0);
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  assert_true(exists_at(inside, "evil"));
  assert_no_escape();
  /* a relative link that climbs stops at the root */
  tw_open(&t, "symlink2.tar", NULL);
  tw_add(&t, "up", AE_IFLNK, 0777, NULL, "../../../../../../..", false);
  tw_file(&t, "up/evil2", "x");
  /* a chain: c1 -> c2 -> / */
  tw_add(&t, "c2", AE_IFLNK, 0777, NULL, "/", false);
  tw_add(&t, "c1", AE_IFLNK, 0777, NULL, "c2", false);
  tw_file(&t, "c1/tmp-kube-evil3", "x");
  tw_close(&t);
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  assert_no_escape();
  assert_false(exists_at("/", "tmp-kube-evil3"));
  assert_true(exists_at(target, "evil2"));
  assert_true(exists_at(target, "tmp-kube-evil3"));
}

static void test_hardlink_escape(void **state) {
  (void)state;
  char victim[400];
  snprintf(victim, sizeof victim, "%s/victim", outside);
  FILE *f = fopen(victim, "w");
  fputs("secret", f);
  fclose(f);
  struct tw t;
  tw_open(&t, "hard.tar", NULL);
  tw_add(&t, "l1", AE_IFREG, 0644, NULL, "../outside/victim", true);
  tw_add(&t, "l2", AE_IFREG, 0644, NULL, victim, true);
  tw_add(&t, "sym", AE_IFLNK, 0777, NULL, outside, false);
  tw_add(&t, "l3", AE_IFREG, 0644, NULL, "sym/victim", true);
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = unpack(t.path, true, NULL, NULL, &err);
  /* the targets resolve inside the root, where there is no victim */
  assert_int_equal(rc, -1);
  assert_non_null(strstr(err.message, "hard link target"));
  kube_error_clear(&err);
  struct stat st;
  assert_int_equal(stat(victim, &st), 0);
  assert_int_equal((int)st.st_nlink, 1);
  assert_false(exists_at(target, "l1"));
  unlink(victim);
  assert_no_escape();
}

static void test_replace_symlink_with_file(void **state) {
  (void)state;
  /* a later entry with the name of a symlink replaces the link, it does
   * not write through it */
  char victim[400];
  snprintf(victim, sizeof victim, "%s/victim", outside);
  FILE *f = fopen(victim, "w");
  fputs("orig", f);
  fclose(f);
  struct tw t;
  tw_open(&t, "replace.tar", NULL);
  tw_add(&t, "f", AE_IFLNK, 0777, NULL, victim, false);
  tw_file(&t, "f", "new");
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  assert_string_equal(read_at(outside, "victim"), "orig");
  assert_string_equal(read_at(target, "f"), "new");
  unlink(victim);
}

/* ---- overlay form -------------------------------------------------------- */

static void test_whiteouts(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  struct tw t;
  tw_open(&t, "wh.tar", NULL);
  tw_add(&t, "dir", AE_IFDIR, 0755, NULL, NULL, false);
  tw_file(&t, "dir/.wh.gone", "");
  tw_add(&t, "opq", AE_IFDIR, 0750, NULL, NULL, false);
  tw_file(&t, "opq/.wh..wh..opq", "");
  tw_file(&t, "opq/kept", "k");
  tw_file(&t, ".wh.rootgone", "");
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), 0);
  char p[600];
  struct stat st;
  snprintf(p, sizeof p, "%s/dir/gone", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal((int)st.st_rdev, (int)makedev(0, 0));
  snprintf(p, sizeof p, "%s/rootgone", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  char v[4] = "";
  snprintf(p, sizeof p, "%s/opq", target);
  assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal(v[0], 'y');
  assert_false(exists_at(target, "dir/.wh.gone"));
  assert_false(exists_at(target, "opq/.wh..wh..opq"));
  assert_string_equal(read_at(target, "opq/kept"), "k");
  /* without overlay form (ADD of a tar) ".wh." names are plain files */
  img_rmtree(target);
  mkdir(target, 0755);
  int fd = open(t.path, O_RDONLY);
  int root = open(target, O_PATH | O_DIRECTORY);
  img_unpack_options_t o = {
      .no_whiteouts = true, .force_uid = -1, .force_gid = -1};
  assert_int_equal(img_unpack_fd(fd, root, &o, NULL, &err), 0);
  close(fd);
  close(root);
  assert_true(exists_at(target, "dir/.wh.gone"));
}

static void test_metadata(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  struct tw t;
  tw_open(&t, "meta.tar", NULL);
  tw_add(&t, "d", AE_IFDIR, 0711, NULL, NULL, false);
  tw_add(&t, "d/suid", AE_IFREG, 04755, "#!/bin/sh\n", NULL, false);
  tw_add(&t, "d/hard", AE_IFREG, 0644, NULL, "d/suid", true);
  tw_add(&t, "d/link", AE_IFLNK, 0777, NULL, "suid", false);
  tw_add(&t, "d/fifo", AE_IFIFO, 0600, NULL, NULL, false);
  /* a device and an xattr, written by hand */
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "d/null");
  archive_entry_set_filetype(e, AE_IFCHR);
  archive_entry_set_perm(e, 0666);
  archive_entry_set_rdev(e, makedev(1, 3));
  archive_write_header(t.a, e);
  archive_entry_clear(e);
  archive_entry_set_pathname(e, "d/x");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 0);
  archive_entry_xattr_add_entry(e, "user.kube", "v1", 2);
  archive_entry_xattr_add_entry(e, "trusted.overlay.redirect", "/x", 2);
  archive_write_header(t.a, e);
  archive_entry_free(e);
  tw_close(&t);
  kube_error_t err = KUBE_ERROR_INIT;
  char *diff = NULL;
  assert_int_equal(unpack(t.path, true, NULL, &diff, &err), 0);
  struct stat st, st2;
  char p[600], q[600];
  snprintf(p, sizeof p, "%s/d/suid", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 04755);
  assert_int_equal((int)st.st_uid, 1234);
  assert_int_equal((int)st.st_gid, 5678);
  assert_int_equal((long)st.st_mtime, 1000000000L);
  snprintf(q, sizeof q, "%s/d/hard", target);
  assert_int_equal(lstat(q, &st2), 0);
  assert_int_equal(st.st_ino, st2.st_ino);
  assert_int_equal((int)st2.st_nlink, 2);
  snprintf(p, sizeof p, "%s/d", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0711);
  assert_int_equal((long)st.st_mtime, 1000000000L); /* set after children */
  snprintf(p, sizeof p, "%s/d/link", target);
  char l[64] = "";
  assert_int_equal(readlink(p, l, sizeof l), 4);
  snprintf(p, sizeof p, "%s/d/fifo", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  snprintf(p, sizeof p, "%s/d/null", target);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal((int)st.st_rdev, (int)makedev(1, 3));
  snprintf(p, sizeof p, "%s/d/x", target);
  char v[8] = "";
  assert_int_equal(lgetxattr(p, "user.kube", v, sizeof v), 2);
  assert_memory_equal(v, "v1", 2);
  /* overlayfs' own attributes never come from a layer */
  assert_int_equal(lgetxattr(p, "trusted.overlay.redirect", v, sizeof v), -1);
  /* the diffID is the sha256 of the uncompressed tar */
  int fd = open(t.path, O_RDONLY);
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  char *want = img_digest_of(buf, (size_t)n);
  assert_string_equal(diff, want);
  free(want);
  free(diff);
}

static void test_diff_id_and_compression(void **state) {
  (void)state;
  const char *filters[] = {NULL, "gzip", "zstd"};
  char *first = NULL;
  for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
    struct tw t;
    char name[32];
    snprintf(name, sizeof name, "c%zu.tar", i);
    tw_open(&t, name, filters[i]);
    tw_add(&t, "a", AE_IFDIR, 0755, NULL, NULL, false);
    tw_file(&t, "a/b", "hello");
    tw_close(&t);
    kube_error_t err = KUBE_ERROR_INIT;
    char *diff = NULL;
    int rc = unpack(t.path, true, NULL, &diff, &err);
    if (rc < 0 && filters[i] && streq(filters[i], "zstd")) {
      /* libarchive without zstd write support: nothing to compare */
      kube_error_clear(&err);
      continue;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(read_at(target, "a/b"), "hello");
    if (!first)
      first = diff;
    else {
      /* uncompressed content, same diffID whatever the compression */
      assert_string_equal(first, diff);
      free(diff);
    }
    /* a wrong diffID fails */
    rc = unpack(t.path, true,
                "sha256:0000000000000000000000000000000000000000000000000000"
                "000000000000",
                NULL, &err);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.message, "hashes to"));
    kube_error_clear(&err);
  }
  free(first);
}

static void test_garbage(void **state) {
  (void)state;
  char p[400];
  snprintf(p, sizeof p, "%s/garbage.tar", base);
  FILE *f = fopen(p, "w");
  for (int i = 0; i < 1000; i++)
    fputc(i * 7, f);
  fclose(f);
  kube_error_t err = KUBE_ERROR_INIT;
  assert_int_equal(unpack(p, true, NULL, NULL, &err), -1);
  assert_true(kube_error_is_set(&err));
  kube_error_clear(&err);
  /* a truncated gzip stream */
  struct tw t;
  tw_open(&t, "trunc.tar.gz", "gzip");
  char big[20000];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  tw_file(&t, "big", big);
  tw_close(&t);
  truncate(t.path, 60);
  assert_int_equal(unpack(t.path, true, NULL, NULL, &err), -1);
  kube_error_clear(&err);
}

/* ---- writing layers ------------------------------------------------------ */

static void test_layer_roundtrip(void **state) {
  (void)state;
  if (geteuid() != 0)
    skip();
  /* an overlay-form directory: a whiteout, an opaque dir, a hard link */
  char p[600], q[600];
  snprintf(p, sizeof p, "%s/up", base);
  mkdir(p, 0755);
  snprintf(q, sizeof q, "%s/up/gone", base);
  assert_int_equal(mknod(q, S_IFCHR, makedev(0, 0)), 0);
  snprintf(q, sizeof q, "%s/up/opq", base);
  mkdir(q, 0700);
  assert_int_equal(setxattr(q, "trusted.overlay.opaque", "y", 1, 0), 0);
  snprintf(q, sizeof q, "%s/up/opq/f", base);
  FILE *f = fopen(q, "w");
  fputs("data", f);
  fclose(f);
  char h[600];
  snprintf(h, sizeof h, "%s/up/opq/h", base);
  assert_int_equal(link(q, h), 0);
  kube_error_t err = KUBE_ERROR_INIT;
  char dd[400];
  snprintf(dd, sizeof dd, "%s/outside/store", base);
  kube_image_store_options_t so = {.struct_size = sizeof so, .data_dir = dd};
  kube_image_store_t *s = kube_image_store_open(&so, &err);
  assert_non_null(s);
  img_desc_t d;
  char *diff = NULL;
  assert_int_equal(img_layer_from_dir(s, p, true, &d, &diff, &err), 0);
  assert_string_equal(d.media_type, IMG_MT_OCI_LAYER_GZ);
  /* the tar has OCI whiteouts */
  char *blob = img_blob_path(s, d.digest);
  struct archive *a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, blob, 65536), ARCHIVE_OK);
  struct archive_entry *e;
  bool wh = false, opq = false, hard = false;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char *n = archive_entry_pathname(e);
    wh = wh || streq(n, ".wh.gone");
    opq = opq || streq(n, "opq/.wh..wh..opq");
    hard = hard || (archive_entry_hardlink(e) != NULL);
  }
  archive_read_free(a);
  assert_true(wh && opq && hard);
  /* and unpacks back to the same overlay form, diffID verified */
  assert_int_equal(unpack(blob, true, diff, NULL, &err), 0);
  struct stat st;
  snprintf(q, sizeof q, "%s/gone", target);
  assert_int_equal(lstat(q, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  snprintf(q, sizeof q, "%s/opq", target);
  char v[2];
  assert_int_equal(lgetxattr(q, "trusted.overlay.opaque", v, 2), 1);
  free(blob);
  free(diff);
  img_desc_clear(&d);
  kube_image_store_free(s);
}

static void test_clean_path(void **state) {
  (void)state;
  const char *cases[][2] = {{"", ""},           {"/", ""},
                            {"a/b", "a/b"},     {"/a//b/", "a/b"},
                            {"./a/./b", "a/b"}, {"../a", "a"},
                            {"a/../..", ""},    {"a/b/../c", "a/c"},
                            {"...", "..."},     {"a/..b", "a/..b"}};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char *c = img_clean_path(cases[i][0]);
    assert_string_equal(c, cases[i][1]);
    free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_path),
      cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_parent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hardlink_escape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replace_symlink_with_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(test_diff_id_and_compression, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
      cmocka_unit_test_setup_teardown(test_layer_roundtrip, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
