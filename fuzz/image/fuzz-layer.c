/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the layer unpacker: any bytes (tar, compressed or
 * not, or garbage) are applied to a fresh directory.  Whatever happens,
 * nothing may appear outside that directory: the harness keeps a sentinel
 * tree beside it and traps when anything there changed.  As root the
 * overlay form (whiteout devices, ownership) is exercised too.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/internal.h"

#define CHECK(c)                                                               \
  do {                                                                         \
    if (!(c))                                                                  \
      __builtin_trap();                                                        \
  } while (0)

static char base[64];
static char target[96];
static char input[96];

static void init(void) {
  if (base[0])
    return;
  snprintf(base, sizeof base, "/tmp/kube-fuzz-layer-XXXXXX");
  CHECK(mkdtemp(base));
  snprintf(target, sizeof target, "%s/root/t", base);
  snprintf(input, sizeof input, "%s/input", base);
  char p[128];
  snprintf(p, sizeof p, "%s/root", base);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/sentinel", base);
  mkdir(p, 0755);
}

/* base holds exactly: input, root (holding only t), sentinel (empty). */
static void check_contained(void) {
  DIR *d = opendir(base);
  CHECK(d);
  struct dirent *de;
  while ((de = readdir(d)))
    CHECK(de->d_name[0] == '.' || !strcmp(de->d_name, "input") ||
          !strcmp(de->d_name, "root") || !strcmp(de->d_name, "sentinel"));
  closedir(d);
  char p[128];
  snprintf(p, sizeof p, "%s/sentinel", base);
  d = opendir(p);
  CHECK(d);
  while ((de = readdir(d)))
    CHECK(de->d_name[0] == '.');
  closedir(d);
  snprintf(p, sizeof p, "%s/root", base);
  d = opendir(p);
  CHECK(d);
  while ((de = readdir(d)))
    CHECK(de->d_name[0] == '.' || !strcmp(de->d_name, "t"));
  closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init();
  FILE *f = fopen(input, "w");
  CHECK(f);
  fwrite(data, 1, size, f);
  fclose(f);
  mkdir(target, 0755);
  int fd = open(input, O_RDONLY | O_CLOEXEC);
  int root = open(target, O_PATH | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd >= 0 && root >= 0);
  bool is_root = geteuid() == 0;
  img_unpack_options_t o = {.overlay = is_root,
                            .keep_owner = is_root,
                            .force_uid = -1,
                            .force_gid = -1};
  kube_error_t err = KUBE_ERROR_INIT;
  char *diff = NULL;
  int rc = img_unpack_fd(fd, root, &o, &diff, &err);
  CHECK(rc == 0 ? diff && img_digest_valid(diff) : kube_error_is_set(&err));
  free(diff);
  kube_error_clear(&err);
  close(fd);
  close(root);
  check_contained();
  /* a directory left without write permission must still go */
  chmod(target, 0755);
  img_rmtree(target);
  return 0;
}
