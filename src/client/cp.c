/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kubectl cp: tar over exec, with kubectl's path rules (pkg/cmd/cp):
 * from a pod, `tar cf - SRC` runs in the container and the archive is
 * unpacked here under DST with the remote prefix stripped, nothing written
 * outside DST and symlinks skipped; to a pod, SRC is packed here under the
 * destination's base name and `tar -xmf - -C DIR` unpacks it there.  The
 * archives go through a temporary file (libarchive reads and writes them).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include "client/internal.h"
#include "core/util.h"

/* ---- Go's path handling ---- */

/* path.Clean: the shortest equivalent path ("" -> "."). */
static char *go_clean(const char *p) {
  size_t n = strlen(p);
  char *out = malloc(n + 2);
  if (!out)
    return NULL;
  bool rooted = p[0] == '/';
  size_t w = 0, dotdot = 0;
  if (rooted) {
    out[w++] = '/';
    dotdot = 1;
  }
  size_t r = rooted ? 1 : 0;
  while (r < n) {
    if (p[r] == '/') {
      r++;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      r++;
    } else if (p[r] == '.' && p[r + 1] == '.' &&
               (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/')
          w--;
      } else if (!rooted) {
        if (w > 0)
          out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0))
        out[w++] = '/';
      while (r < n && p[r] != '/')
        out[w++] = p[r++];
    }
  }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* filepath.Join(a, b): both cleaned together, an empty b is a. */
static char *go_join(const char *a, const char *b) {
  if (!*b)
    return go_clean(a);
  if (!*a)
    return go_clean(b);
  cleanup_free char *both = NULL;
  if (asprintf(&both, "%s/%s", a, b) < 0)
    return NULL;
  return go_clean(both);
}

static char *go_dir(const char *p) {
  const char *slash = strrchr(p, '/');
  if (!slash)
    return strdup(".");
  cleanup_free char *d = strndup(p, (size_t)(slash - p) + 1);
  return d ? go_clean(d) : NULL;
}

static char *go_base(const char *p) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  if (n == 0)
    return strdup(".");
  const char *start = p + n;
  while (start > p && start[-1] != '/')
    start--;
  if (start == p + n)
    return strdup("/");
  return strndup(start, (size_t)(p + n - start));
}

/* kubectl's stripTrailingSlash (one slash, not of "/"). */
static char *strip_trailing_slash(const char *p) {
  size_t n = strlen(p);
  if (n > 1 && p[n - 1] == '/')
    n--;
  return strndup(p, n);
}

/* kubectl's stripPathShortcuts: leading "../", a lone "." or "..", a
 * leading "/". */
static const char *strip_shortcuts(const char *p) {
  while (str_has_prefix(p, "../"))
    p += 3;
  if (streq(p, ".") || streq(p, ".."))
    return "";
  return p[0] == '/' ? p + 1 : p;
}

/* isRelative(base, target): target is base or below it. */
static bool is_relative(const char *base, const char *target) {
  cleanup_free char *b = go_clean(base), *t = go_clean(target);
  if (!b || !t)
    return false;
  if (streq(b, t))
    return true;
  if (streq(b, "."))
    return t[0] != '/' && !streq(t, "..") && !str_has_prefix(t, "../");
  if (streq(b, "/"))
    return t[0] == '/';
  size_t bl = strlen(b);
  return strncmp(t, b, bl) == 0 && t[bl] == '/';
}

KUBE_EXPORT int kube_cp_parse_spec(const char *spec, char **ns, char **pod,
                                   char **path, kube_error_t *err) {
  *ns = *pod = *path = NULL;
  const char *colon = spec ? strchr(spec, ':') : NULL;
  if (!spec || colon == spec)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "filespec must match the canonical format: "
                          "[[namespace/]pod:]file/path");
  if (!colon) {
    if (!(*path = strdup(spec)))
      return kube_make_oom(err);
    return 0;
  }
  cleanup_free char *left = strndup(spec, (size_t)(colon - spec));
  if (!left)
    return kube_make_oom(err);
  char *slash = strchr(left, '/');
  if (slash && strchr(slash + 1, '/'))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "filespec must match the canonical format: "
                          "[[namespace/]pod:]file/path");
  if (slash) {
    *slash = '\0';
    *ns = strdup(left);
    *pod = strdup(slash + 1);
  } else {
    *pod = strdup(left);
  }
  *path = strdup(colon + 1);
  if (!*pod || !*path || (slash && !*ns)) {
    free(*ns);
    free(*pod);
    free(*path);
    *ns = *pod = *path = NULL;
    return kube_make_oom(err);
  }
  return 0;
}

/* ---- running tar in the container ---- */

static int temp_file(kube_error_t *err) {
  const char *dir = getenv("TMPDIR");
  int fd =
      open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    return kube_make_error(err, errno, "temporary file: %s", strerror(errno));
  return fd;
}

/* Run argv in the pod; *code its exit code.  0 or -1 with err. */
static int run(kube_client_t *c, const kube_cp_options_t *o,
               const char *const *argv, int in_fd, int out_fd, int err_fd,
               int *code, kube_error_t *e) {
  kube_client_exec_options_t x = KUBE_CLIENT_EXEC_OPTIONS_INIT;
  x.namespace_ = o->namespace_;
  x.pod = o->pod;
  x.container = o->container;
  x.command = argv;
  x.stdin_ = in_fd >= 0;
  x.stdin_fd = in_fd;
  x.stdout_fd = out_fd;
  x.stderr_fd = err_fd;
  x.transport = o->transport;
  *code = 0;
  return kube_client_exec(c, &x, code, e);
}

static int exit_error(int code, int *exit_code, kube_error_t *err) {
  if (exit_code)
    *exit_code = code;
  return kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                        "command terminated with exit code %d", code);
}

static void warnf(const kube_cp_options_t *o, const char *fmt, ...)
    KUBE_PRINTF(2, 3);
static void warnf(const kube_cp_options_t *o, const char *fmt, ...) {
  if (!o->warn)
    return;
  char *line = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&line, fmt, ap);
  va_end(ap);
  if (n >= 0)
    o->warn(o->arg, line);
  free(line);
}

/* Go's %q of a plain path. */
static void quote(kube_strbuf_t *sb, const char *s) {
  kube_strbuf_append_json_string(sb, s);
}

/* ---- from a pod ---- */

static int untar(const kube_cp_options_t *o, int fd, const char *prefix,
                 const char *src, const char *dest, kube_error_t *err) {
  struct archive *a = archive_read_new();
  if (!a)
    return kube_make_oom(err);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  int rc = 0;
  if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
    /* An empty archive (nothing matched): nothing to unpack. */
    archive_read_free(a);
    return 0;
  }
  struct archive_entry *e;
  bool warned_link = false;
  while (rc == 0) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
      break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      rc = kube_make_error(err, 0, "%s", archive_error_string(a));
      break;
    }
    const char *name = archive_entry_pathname(e);
    if (!name || !str_has_prefix(name, prefix)) {
      rc = kube_error_set(err, KUBE_REASON_INTERNAL, 0,
                          "tar contents corrupted");
      break;
    }
    cleanup_free char *rel = strip_trailing_slash(name + strlen(prefix));
    cleanup_free char *target = rel ? go_join(dest, rel) : NULL;
    cleanup_free char *dir = target ? go_dir(target) : NULL;
    if (!dir) {
      rc = kube_make_oom(err);
      break;
    }
    if (!is_relative(dest, target)) {
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_append(&sb, "warning: file ");
      quote(&sb, target);
      kube_strbuf_append(&sb, " is outside target destination, skipping");
      warnf(o, "%s", sb.data ? sb.data : "");
      kube_strbuf_clear(&sb);
      continue;
    }
    char cmd[PATH_MAX + 32];
    if (snprintf(cmd, sizeof cmd, "%s", dir) >= (int)sizeof cmd) {
      rc = kube_error_set(err, KUBE_REASON_BAD_REQUEST, ENAMETOOLONG,
                          "path too long: %s", dir);
      break;
    }
    /* MkdirAll(dir, 0755). */
    for (char *p = cmd + 1; rc == 0; p++) {
      if (*p && *p != '/')
        continue;
      char keep = *p;
      *p = '\0';
      if (mkdir(cmd, 0755) < 0 && errno != EEXIST)
        rc = kube_make_error(err, errno, "mkdir %s: %s", cmd, strerror(errno));
      *p = keep;
      if (!keep)
        break;
    }
    if (rc)
      break;
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFDIR) {
      if (mkdir(target, 0755) < 0 && errno != EEXIST)
        rc = kube_make_error(err, errno, "mkdir %s: %s", target,
                             strerror(errno));
      continue;
    }
    if (type == AE_IFLNK) {
      const char *to = archive_entry_symlink(e);
      kube_strbuf_t sb = KUBE_STRBUF_INIT;
      kube_strbuf_append(&sb, "warning: skipping symlink: ");
      quote(&sb, target);
      kube_strbuf_append(&sb, " -> ");
      quote(&sb, to ? to : "");
      if (!warned_link) {
        /* The first one says how to copy them after all, as kubectl. */
        /* kubectl names the namespace of the file spec here (often ""). */
        kube_strbuf_append(&sb, " (consider using \"kubectl exec -n ");
        kube_strbuf_append_json_string(&sb, o->namespace_ ? o->namespace_ : "");
        kube_strbuf_append_char(&sb, ' ');
        kube_strbuf_append_json_string(&sb, o->pod);
        kube_strbuf_append(&sb, " -- tar cf - ");
        kube_strbuf_append_json_string(&sb, src);
        kube_strbuf_append(&sb, " | tar xf -\")");
        warned_link = true;
      }
      warnf(o, "%s", sb.data ? sb.data : "");
      kube_strbuf_clear(&sb);
      continue;
    }
    int out = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
      rc = kube_make_error(err, errno, "open %s: %s", target, strerror(errno));
      break;
    }
    if (archive_read_data_into_fd(a, out) != ARCHIVE_OK)
      rc = kube_make_error(err, 0, "%s: %s", target, archive_error_string(a));
    if (close(out) < 0 && rc == 0)
      rc = kube_make_error(err, errno, "%s: %s", target, strerror(errno));
  }
  archive_read_free(a);
  return rc;
}

KUBE_EXPORT int kube_cp_from_pod(kube_client_t *c, const kube_cp_options_t *o,
                                 const char *remote_src, const char *local_dst,
                                 int *exit_code, kube_error_t *err) {
  if (exit_code)
    *exit_code = 0;
  if (!o || !o->pod || !remote_src || !*remote_src || !local_dst || !*local_dst)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "filepath can not be empty");
  cleanup_close int fd = temp_file(err);
  if (fd < 0)
    return -1;
  cleanup_free char *src = strip_trailing_slash(remote_src);
  cleanup_free char *dst = strip_trailing_slash(local_dst);
  if (!src || !dst)
    return kube_make_oom(err);
  const char *argv[] = {"tar", "cf", "-", src, NULL};
  int code = 0;
  if (run(c, o, argv, -1, fd, o->stderr_fd, &code, err) < 0)
    return -1;
  if (code != 0)
    return exit_error(code, exit_code, err);
  if (lseek(fd, 0, SEEK_SET) < 0)
    return kube_make_error(err, errno, "seek: %s", strerror(errno));
  /* The archive names lack the leading slash tar strips. */
  const char *stripped = src;
  while (*stripped == '/' || *stripped == '\\')
    stripped++;
  cleanup_free char *cleaned = go_clean(stripped);
  if (!cleaned)
    return kube_make_oom(err);
  const char *prefix = strip_shortcuts(cleaned);
  return untar(o, fd, prefix, src, dst, err);
}

/* ---- to a pod ---- */

static int tar_entry(struct archive *a, const char *path, const char *name,
                     const struct stat *st, kube_error_t *err);

static int tar_tree(struct archive *a, const char *path, const char *name,
                    kube_error_t *err) {
  struct stat st;
  if (lstat(path, &st) < 0)
    return kube_make_error(err, errno, "%s: %s", path, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return tar_entry(a, path, name, &st, err);
  struct dirent **list = NULL;
  int n = scandir(path, &list, NULL, alphasort);
  if (n < 0)
    return kube_make_error(err, errno, "%s: %s", path, strerror(errno));
  int rc = 0, kept = 0;
  for (int i = 0; i < n; i++) {
    const char *f = list[i]->d_name;
    if (!streq(f, ".") && !streq(f, "..") && rc == 0) {
      kept++;
      cleanup_free char *p = NULL, *nm = NULL;
      if (asprintf(&p, "%s/%s", path, f) < 0 ||
          asprintf(&nm, "%s/%s", name, f) < 0)
        rc = kube_make_oom(err);
      else
        rc = tar_tree(a, p, nm, err);
    }
    free(list[i]);
  }
  free(list);
  /* An empty directory is an entry of its own. */
  if (rc == 0 && kept == 0)
    rc = tar_entry(a, path, name, &st, err);
  return rc;
}

static int tar_entry(struct archive *a, const char *path, const char *name,
                     const struct stat *st, kube_error_t *err) {
  struct archive_entry *e = archive_entry_new();
  if (!e)
    return kube_make_oom(err);
  archive_entry_copy_stat(e, st);
  archive_entry_set_pathname(e, name);
  int rc = 0;
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
      archive_entry_free(e);
      return kube_make_error(err, errno, "%s: %s", path, strerror(errno));
    }
    target[n] = '\0';
    archive_entry_set_symlink(e, target);
  }
  if (!S_ISREG(st->st_mode))
    archive_entry_set_size(e, 0);
  if (archive_write_header(a, e) != ARCHIVE_OK) {
    rc = kube_make_error(err, 0, "%s: %s", path, archive_error_string(a));
  } else if (S_ISREG(st->st_mode)) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      rc = kube_make_error(err, errno, "%s: %s", path, strerror(errno));
    char buf[65536];
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) > 0)
      if (archive_write_data(a, buf, (size_t)n) < 0)
        rc = kube_make_error(err, 0, "%s: %s", path, archive_error_string(a));
    if (fd >= 0)
      close(fd);
  }
  archive_entry_free(e);
  return rc;
}

/* Pack the matches of src (a glob, as kubectl's filepath.Glob) as
 * `name`. */
static int make_tar(int fd, const char *src, const char *name,
                    kube_error_t *err) {
  struct archive *a = archive_write_new();
  if (!a)
    return kube_make_oom(err);
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  int rc = 0;
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
    rc = kube_make_error(err, 0, "%s", archive_error_string(a));
  } else {
    glob_t g;
    if (glob(src, GLOB_NOSORT, NULL, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc && rc == 0; i++)
        rc = tar_tree(a, g.gl_pathv[i], name, err);
      globfree(&g);
    }
    if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
      rc = kube_make_error(err, 0, "%s", archive_error_string(a));
  }
  archive_write_free(a);
  return rc;
}

KUBE_EXPORT int kube_cp_to_pod(kube_client_t *c, const kube_cp_options_t *o,
                               const char *local_src, const char *remote_dst,
                               int *exit_code, kube_error_t *err) {
  if (exit_code)
    *exit_code = 0;
  if (!o || !o->pod || !local_src || !*local_src || !remote_dst || !*remote_dst)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, EINVAL,
                          "filepath can not be empty");
  cleanup_free char *src = strip_trailing_slash(local_src);
  cleanup_free char *dst = strip_trailing_slash(remote_dst);
  if (!src || !dst)
    return kube_make_oom(err);
  struct stat st;
  if (stat(src, &st) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, errno,
                          "%s doesn't exist in local filesystem", src);
  /* Into a directory of that name when there is one (`test -d`). */
  const char *test[] = {"test", "-d", dst, NULL};
  int code = 1;
  kube_error_t e = KUBE_ERROR_INIT;
  if (run(c, o, test, -1, -1, -1, &code, &e) < 0)
    code = 1;
  kube_error_clear(&e);
  cleanup_free char *base = go_base(src);
  cleanup_free char *dest = code == 0 ? go_join(dst, base) : go_clean(dst);
  cleanup_free char *ddir = dest ? go_dir(dest) : NULL;
  cleanup_free char *dbase = dest ? go_base(dest) : NULL;
  cleanup_free char *cleaned_src = go_clean(src);
  if (!base || !ddir || !dbase || !cleaned_src)
    return kube_make_oom(err);
  cleanup_close int fd = temp_file(err);
  if (fd < 0 || make_tar(fd, cleaned_src, dbase, err) < 0)
    return -1;
  if (lseek(fd, 0, SEEK_SET) < 0)
    return kube_make_error(err, errno, "seek: %s", strerror(errno));
  const char *argv[8];
  size_t n = 0;
  argv[n++] = "tar";
  if (o->no_preserve) {
    argv[n++] = "--no-same-permissions";
    argv[n++] = "--no-same-owner";
  }
  argv[n++] = "-xmf";
  argv[n++] = "-";
  if (*ddir) {
    argv[n++] = "-C";
    argv[n++] = ddir;
  }
  argv[n] = NULL;
  if (run(c, o, argv, fd, o->stderr_fd, o->stderr_fd, &code, err) < 0)
    return -1;
  if (code != 0)
    return exit_error(code, exit_code, err);
  return 0;
}
