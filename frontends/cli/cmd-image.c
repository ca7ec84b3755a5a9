/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube image ls|inspect|pull|push|tag|rm|prune|import|export, and
 * kube push: the content store of the local node (--data-dir, or
 * KUBE_DATA_DIR, or kubed's default), whether kubed runs or not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libkube/image.h>

#include "cli.h"
#include "cmd-image.h"
#include "kube-config.h"

const char *cli_image_data_dir(const char *flag) {
  if (flag && *flag)
    return flag;
  const char *e = getenv("KUBE_DATA_DIR");
  return e && *e ? e : KUBE_DEFAULT_DATA_DIR;
}

kube_image_store_t *cli_image_store(const char *data_dir) {
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_store_options_t o = {.struct_size = sizeof o,
                                  .data_dir = cli_image_data_dir(data_dir)};
  kube_image_store_t *s = kube_image_store_open(&o, &err);
  if (!s) {
    cli_fail("%s", err.message);
    kube_error_clear(&err);
  }
  return s;
}

static int fail_err(kube_error_t *err) {
  int rc = cli_fail("%s", err->message ? err->message : "failed");
  kube_error_clear(err);
  return rc;
}

/* Human sizes as docker prints them (decimal units). */
static void human_size(int64_t b, char *buf, size_t len) {
  const char *u[] = {"B", "kB", "MB", "GB", "TB"};
  double v = (double)b;
  size_t i = 0;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    i++;
  }
  snprintf(buf, len, i ? "%.3g%s" : "%.0f%s", v, u[i]);
}

static const char *short_id(const char *digest, char *buf, size_t len) {
  const char *hex = strchr(digest, ':');
  snprintf(buf, len, "%.12s", hex ? hex + 1 : digest);
  return buf;
}

/* ---- progress ------------------------------------------------------------ */

struct progress_state {
  bool tty;
  bool quiet;
};

void cli_image_progress(const kube_image_progress_t *p, void *ud) {
  struct progress_state *ps = ud;
  char id[16] = "", a[16], b[16];
  if (ps && ps->quiet)
    return;
  if (p->id)
    short_id(p->id, id, sizeof id);
  switch (p->kind) {
  case KUBE_IMAGE_PROGRESS_LAYER:
    if (ps && ps->tty) {
      human_size(p->current, a, sizeof a);
      human_size(p->total, b, sizeof b);
      fprintf(stderr, "\r%s: %s/%s\033[K", id, a, b);
    }
    break;
  case KUBE_IMAGE_PROGRESS_LAYER_DONE:
    fprintf(stderr, "%s%s: %s\033[K\n", ps && ps->tty ? "\r" : "", id,
            p->message ? p->message : "done");
    break;
  case KUBE_IMAGE_PROGRESS_UNPACK:
    fprintf(stderr, "%s: unpacking\n", id);
    break;
  case KUBE_IMAGE_PROGRESS_RESOLVE:
    if (p->message && p->id)
      fprintf(stderr, "Digest: %s\n", p->id);
    break;
  default:
    if (p->message)
      fprintf(stderr, "%s\n", p->message);
    break;
  }
}

/* "user:pass" for --creds */
static int split_creds(const char *c, char **user, char **pass) {
  const char *colon = c ? strchr(c, ':') : NULL;
  *user = *pass = NULL;
  if (!c)
    return 0;
  if (!colon)
    return cli_fail("--creds wants USERNAME:PASSWORD");
  *user = strndup(c, (size_t)(colon - c));
  *pass = strdup(colon + 1);
  return 0;
}

/* ---- verbs --------------------------------------------------------------- */

static int image_ls(int argc, char **argv) {
  const char *data_dir = NULL;
  bool quiet = false, digests = false, no_trunc = false;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {"digests", 0, CLI_BOOL, &digests, NULL},
      {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  kube_image_store_t *s = cli_image_store(data_dir);
  if (!s) {
    free(pos);
    return 1;
  }
  kube_error_t err = KUBE_ERROR_INIT;
  kube_image_info_t *v = NULL;
  size_t n = 0;
  int rc = 0;
  if (kube_image_list(s, &v, &n, &err) < 0)
    rc = fail_err(&err);
  if (rc == 0 && !quiet)
    printf("%-40s %-12s %s%-14s %-15s %s\n", "REPOSITORY", "TAG",
           digests ? "DIGEST                                                  "
                     "                  "
                   : "",
           "IMAGE ID", "CREATED", "SIZE");
  time_t now = time(NULL);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char idbuf[80];
    const char *id =
        no_trunc ? v[i].id : short_id(v[i].id, idbuf, sizeof idbuf);
    if (quiet) {
      printf("%s\n", id);
      continue;
    }
    char size[16], age[16], created[32];
    human_size(v[i].size, size, sizeof size);
    if (v[i].created)
      snprintf(created, sizeof created, "%s ago",
               kube_time_age(v[i].created, now, age, sizeof age));
    else
      snprintf(created, sizeof created, "N/A");
    for (size_t k = 0; k < v[i].n_names; k++) {
      kube_image_ref_t r;
      if (kube_image_ref_parse(v[i].names[k], &r, NULL) < 0)
        continue;
      char *repo = kube_image_ref_repository(&r);
      const char *dg = "<none>";
      if (v[i].repo_digest && strchr(v[i].repo_digest, '@'))
        dg = strchr(v[i].repo_digest, '@') + 1;
      printf("%-40s %-12s ", repo ? repo : "", r.tag ? r.tag : "<none>");
      if (digests)
        printf("%-72s ", dg);
      printf("%-14s %-15s %s\n", id, created, size);
      free(repo);
      kube_image_ref_clear(&r);
    }
  }
  kube_image_info_free_array(v, n);
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static void json_strv(kube_strbuf_t *sb, char *const *v, size_t n) {
  kube_strbuf_append_char(sb, '[');
  for (size_t i = 0; i < n; i++) {
    if (i)
      kube_strbuf_append_char(sb, ',');
    kube_strbuf_append_json_string(sb, v[i]);
  }
  kube_strbuf_append_char(sb, ']');
}

static int image_inspect(int argc, char **argv) {
  const char *data_dir = NULL;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  if (npos < 1) {
    free(pos);
    return cli_fail("image inspect needs an image");
  }
  kube_image_store_t *s = cli_image_store(data_dir);
  if (!s) {
    free(pos);
    return 1;
  }
  int rc = 0;
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  kube_strbuf_append(&sb, "[\n");
  for (int i = 0; i < npos; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    kube_image_info_t info;
    char *config = NULL;
    if (kube_image_inspect(s, pos[i], &info, &err) < 0 ||
        !(config = kube_image_config_json(s, pos[i], &err))) {
      rc = fail_err(&err);
      kube_image_info_clear(&info);
      continue;
    }
    if (sb.len > 2)
      kube_strbuf_append(&sb, ",\n");
    kube_strbuf_append(&sb, "  {\"Id\": ");
    kube_strbuf_append_json_string(&sb, info.id);
    kube_strbuf_append(&sb, ", \"Digest\": ");
    kube_strbuf_append_json_string(&sb, info.manifest_digest);
    kube_strbuf_append(&sb, ", \"RepoTags\": ");
    json_strv(&sb, info.names, info.n_names);
    kube_strbuf_append(&sb, ", \"RepoDigests\": ");
    json_strv(&sb, info.repo_digest ? &info.repo_digest : NULL,
              info.repo_digest ? 1 : 0);
    kube_strbuf_printf(&sb,
                       ", \"Size\": %lld, \"Layers\": ", (long long)info.size);
    json_strv(&sb, info.diff_ids, info.n_layers);
    kube_strbuf_printf(&sb, ", \"InUse\": %s, \"Image\": %s}",
                       info.in_use ? "true" : "false", config);
    free(config);
    kube_image_info_clear(&info);
  }
  kube_strbuf_append(&sb, "\n]\n");
  if (sb.len > 5)
    fputs(sb.data, stdout);
  kube_strbuf_clear(&sb);
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int transfer(int argc, char **argv, bool push) {
  const char *data_dir = NULL, *creds = NULL, *platform = NULL;
  bool tls_verify = true, quiet = false;
  struct cli_strv authfiles = {0};
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"creds", 0, CLI_STRING, &creds, NULL},
      {"platform", 0, CLI_STRING, &platform, NULL},
      {"tls-verify", 0, CLI_BOOL, &tls_verify, NULL},
      {"authfile", 0, CLI_STRINGS, &authfiles, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  if (npos < 1 || npos > (push ? 2 : 1)) {
    free(pos);
    free(authfiles.v);
    return cli_fail(push ? "usage: kube push SOURCE [DESTINATION]"
                         : "usage: kube image pull IMAGE");
  }
  char *user = NULL, *pass = NULL;
  int rc = split_creds(creds, &user, &pass);
  /* --authfile: Docker config.json files, tried first */
  char **auths = calloc(authfiles.n + 1, sizeof *auths);
  for (size_t i = 0; rc == 0 && auths && i < authfiles.n; i++) {
    FILE *f = fopen(authfiles.v[i], "r");
    if (!f) {
      rc = cli_fail("%s: cannot read", authfiles.v[i]);
      break;
    }
    kube_strbuf_t sb = KUBE_STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
      kube_strbuf_append_len(&sb, buf, n);
    fclose(f);
    auths[i] = kube_strbuf_steal(&sb);
  }
  kube_image_store_t *s = rc == 0 ? cli_image_store(data_dir) : NULL;
  if (!s)
    rc = 1;
  struct progress_state ps = {isatty(2), quiet};
  kube_image_transfer_options_t o = {.struct_size = sizeof o,
                                     .auth_configs = (const char *const *)auths,
                                     .n_auth_configs = authfiles.n,
                                     .username = user,
                                     .password = pass,
                                     .insecure = !tls_verify,
                                     .platform = platform,
                                     .progress = cli_image_progress,
                                     .userdata = &ps};
  kube_error_t err = KUBE_ERROR_INIT;
  if (rc == 0 && push) {
    char *digest = NULL;
    if (kube_image_push(s, pos[0], npos > 1 ? pos[1] : NULL, &o, &digest,
                        &err) < 0)
      rc = fail_err(&err);
    else if (!quiet)
      printf("Pushed %s %s\n", npos > 1 ? pos[1] : pos[0], digest);
    free(digest);
  } else if (rc == 0) {
    kube_image_info_t info;
    if (kube_image_pull(s, pos[0], &o, &info, &err) < 0)
      rc = fail_err(&err);
    else {
      printf("%s\n", info.id);
      kube_image_info_clear(&info);
    }
  }
  for (size_t i = 0; auths && i < authfiles.n; i++)
    free(auths[i]);
  free(auths);
  free(authfiles.v);
  free(user);
  free(pass);
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int image_tag(int argc, char **argv) {
  const char *data_dir = NULL;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  int rc = 0;
  kube_image_store_t *s = NULL;
  if (npos < 2)
    rc = cli_fail("usage: kube image tag SOURCE TARGET...");
  else if (!(s = cli_image_store(data_dir)))
    rc = 1;
  for (int i = 1; rc == 0 && i < npos; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_image_tag(s, pos[0], pos[i], &err) < 0)
      rc = fail_err(&err);
  }
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int image_rm(int argc, char **argv) {
  const char *data_dir = NULL;
  bool force = false;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"force", 'f', CLI_BOOL, &force, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  int rc = 0;
  kube_image_store_t *s = NULL;
  if (npos < 1)
    rc = cli_fail("usage: kube image rm IMAGE...");
  else if (!(s = cli_image_store(data_dir)))
    rc = 1;
  for (int i = 0; s && i < npos; i++) {
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_image_remove(s, pos[i], force, &err) < 0)
      rc = fail_err(&err);
    else
      printf("Untagged: %s\n", pos[i]);
  }
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int image_prune(int argc, char **argv) {
  const char *data_dir = NULL;
  bool all = false, cache = false, force = false;
  int64_t high = 0, low = 0;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"all", 'a', CLI_BOOL, &all, NULL},
      {"build-cache", 0, CLI_BOOL, &cache, NULL},
      {"force", 'f', CLI_BOOL, &force, NULL},
      {"high-threshold", 0, CLI_INT, &high, NULL},
      {"low-threshold", 0, CLI_INT, &low, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  free(pos);
  if (high < 0 || high > 100 || low < 0 || low > high)
    return cli_fail("thresholds: 0 <= --low-threshold <= --high-threshold "
                    "<= 100");
  kube_image_store_t *s = cli_image_store(data_dir);
  if (!s)
    return 1;
  kube_image_prune_options_t o = {.struct_size = sizeof o,
                                  .all = all,
                                  .build_cache = cache,
                                  .high_percent = (int)high,
                                  .low_percent = (int)low};
  kube_image_prune_result_t r;
  kube_error_t err = KUBE_ERROR_INIT;
  int rc = 0;
  if (kube_image_prune(s, &o, &r, &err) < 0)
    rc = fail_err(&err);
  else {
    char sz[16];
    human_size(r.bytes_freed, sz, sizeof sz);
    printf("Deleted %zu images, %zu blobs, %zu snapshots\n"
           "Total reclaimed space: %s\n",
           r.images_removed, r.blobs_removed, r.snapshots_removed, sz);
  }
  kube_image_store_free(s);
  return rc;
}

static int image_import(int argc, char **argv) {
  const char *data_dir = NULL;
  struct cli_strv changes = {0};
  bool quiet = false;
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"change", 'c', CLI_STRINGS, &changes, NULL},
      {"quiet", 'q', CLI_BOOL, &quiet, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  int rc = 0;
  kube_image_store_t *s = NULL;
  if (npos < 1 || npos > 2)
    rc = cli_fail("usage: kube image import FILE [NAME[:TAG]]");
  else if (!(s = cli_image_store(data_dir)))
    rc = 1;
  if (rc == 0) {
    struct progress_state ps = {isatty(2), quiet};
    kube_image_import_options_t o = {.struct_size = sizeof o,
                                     .ref = npos > 1 ? pos[1] : NULL,
                                     .changes = changes.v,
                                     .n_changes = changes.n,
                                     .progress =
                                         isatty(2) ? cli_image_progress : NULL,
                                     .userdata = &ps};
    kube_error_t err = KUBE_ERROR_INIT;
    char **names = NULL;
    size_t n = 0;
    if (kube_image_import(s, pos[0], &o, &names, &n, &err) < 0)
      rc = fail_err(&err);
    for (size_t i = 0; i < n; i++) {
      printf("Loaded image: %s\n", names[i]);
      free(names[i]);
    }
    free(names);
  }
  free(changes.v);
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int image_export(int argc, char **argv) {
  const char *data_dir = NULL, *output = NULL, *format = "oci-archive";
  const struct cli_flag flags[] = {
      {"data-dir", 0, CLI_STRING, &data_dir, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"format", 0, CLI_STRING, &format, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    return 1;
  int fmt = kube_image_archive_format_parse(format);
  int rc = 0;
  if (!output && npos >= 2)
    output = pos[--npos]; /* kube image export REF FILE */
  kube_image_store_t *s = NULL;
  if (fmt < 0)
    rc =
        cli_fail("--format: oci-archive or docker-archive, not \"%s\"", format);
  else if (npos < 1 || !output)
    rc = cli_fail("usage: kube image export IMAGE... FILE [--format "
                  "oci-archive|docker-archive]");
  else if (!(s = cli_image_store(data_dir)))
    rc = 1;
  if (rc == 0) {
    kube_error_t err = KUBE_ERROR_INIT;
    if (kube_image_export(s, (const char *const *)pos, (size_t)npos, output,
                          (kube_image_archive_format_t)fmt, &err) < 0)
      rc = fail_err(&err);
  }
  kube_image_store_free(s);
  free(pos);
  return rc;
}

static int image_help(void) {
  printf("Usage: kube image COMMAND\n\n"
         "Manage the images of this node (--data-dir DIR or KUBE_DATA_DIR; "
         "default %s).\n\n"
         "Commands:\n"
         "  ls        List images\n"
         "  inspect   Show an image's configuration\n"
         "  pull      Fetch an image from a registry\n"
         "  push      Send an image to a registry\n"
         "  tag       Give an image another name\n"
         "  rm        Remove names (the content goes at the next prune)\n"
         "  prune     Remove unused content (-a: unused images too)\n"
         "  import    Load a docker-archive, oci-archive or rootfs tarball\n"
         "  export    Write images to an oci-archive or docker-archive\n",
         KUBE_DEFAULT_DATA_DIR);
  return 0;
}

int cmd_image(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "help") == 0 ||
      strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return argc < 2 ? (image_help(), 1) : image_help();
  const char *v = argv[1];
  argc--;
  argv++;
  if (!strcmp(v, "ls") || !strcmp(v, "list"))
    return image_ls(argc, argv);
  if (!strcmp(v, "inspect"))
    return image_inspect(argc, argv);
  if (!strcmp(v, "pull"))
    return transfer(argc, argv, false);
  if (!strcmp(v, "push"))
    return transfer(argc, argv, true);
  if (!strcmp(v, "tag"))
    return image_tag(argc, argv);
  if (!strcmp(v, "rm") || !strcmp(v, "remove"))
    return image_rm(argc, argv);
  if (!strcmp(v, "prune"))
    return image_prune(argc, argv);
  if (!strcmp(v, "import") || !strcmp(v, "load"))
    return image_import(argc, argv);
  if (!strcmp(v, "export") || !strcmp(v, "save"))
    return image_export(argc, argv);
  return cli_fail("unknown command \"%s\" for \"kube image\"", v);
}

int cmd_push(int argc, char **argv) {
  return transfer(argc, argv, true);
}
