/* SPDX-License-Identifier: Apache-2.0 */
/* The Dockerfile builder's pieces (build*.c).  Internal to the module. */
#ifndef KUBE_IMAGE_BUILD_H
#define KUBE_IMAGE_BUILD_H

#include <sys/stat.h>

#include "image/internal.h"

int img_cmp_str(const void *a, const void *b);

/* One COPY/ADD source as given (after glob expansion). */
typedef struct img_copy_item {
  char *path; /* relative to the source root */
  bool is_dir;
} img_copy_item_t;

/* A file below an item: rel "" is the item itself. */
typedef struct img_copy_entry {
  size_t item;
  char *rel;
  struct stat st;
  char *link;
  char digest[72]; /* content sha256 of regular files ("" otherwise) */
} img_copy_entry_t;

typedef struct img_copy_list {
  bool hash_content; /* set before adding: hash regular files */
  img_copy_item_t *items;
  size_t n_items;
  img_copy_entry_t *v;
  size_t n, cap;
} img_copy_list_t;

typedef struct img_copy_opts {
  int64_t uid, gid; /* --chown, -1: root */
  int64_t chmod;    /* --chmod, -1: keep the source's mode */
  bool add;         /* ADD: extract local tar archives */
} img_copy_opts_t;

/* List the sources matching `src` (a path or glob, relative to root) with
 * .dockerignore applied (ig may be NULL). */
int img_copy_list_add(img_copy_list_t *l, int root, const char *src,
                      const img_ignore_t *ig, kube_error_t *err);
void img_copy_list_hash(const img_copy_list_t *l, img_hash_t *h);
void img_copy_list_clear(img_copy_list_t *l);
/* Copy the listed sources to `dest` (an absolute path in dst_root);
 * dest_dir: the destination is a directory (several sources, or "/" at
 * the end). */
int img_copy_apply(const img_copy_list_t *l, int src_root, int dst_root,
                   const char *dest, bool dest_dir, const img_copy_opts_t *o,
                   kube_error_t *err);

/* User and group names from the image's /etc/passwd and /etc/group
 * ("name", "uid", "name:group", "uid:gid"); gid defaults to the user's
 * primary group, or 0. */
int img_lookup_user(int root, const char *spec, int64_t *uid, int64_t *gid,
                    kube_error_t *err);

#endif /* KUBE_IMAGE_BUILD_H */
