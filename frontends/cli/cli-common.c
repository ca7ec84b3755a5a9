/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the cluster verbs: client, errors, resources, -f, -o. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-private.h"
#include "cli.h"
#include "client/client-private.h"
#include "core/util.h"

static kube_client_t *the_client;

static void free_client(void) {
  kube_client_free(the_client);
}

/* "30s", "1m", "500ms", "2" (seconds) -> milliseconds; -1 when invalid. */
static int parse_duration_ms(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0)
    return -1;
  if (!*end || streq(end, "s"))
    return (int)(v * 1000);
  if (streq(end, "ms"))
    return (int)v;
  if (streq(end, "m"))
    return (int)(v * 60000);
  if (streq(end, "h"))
    return (int)(v * 3600000);
  return -1;
}

kube_client_t *cli_client(void) {
  if (the_client)
    return the_client;
  kube_client_options_t o = {
      .struct_size = sizeof o,
      .kubeconfig = cli_g.kubeconfig,
      .context = cli_g.context,
      .server = cli_g.server,
      .token = cli_g.token,
      .namespace_ = cli_g.namespace_,
      .insecure_skip_tls_verify = cli_g.insecure_skip_tls_verify,
      .certificate_authority = cli_g.certificate_authority,
  };
  /* -v=6 and up show every request, like kubectl's round-trip log. */
  if (cli_g.verbosity >= 6)
    kube_log_set_level(KUBE_LOG_DEBUG);
  if (cli_g.request_timeout) {
    int ms = parse_duration_ms(cli_g.request_timeout);
    if (ms < 0) {
      cli_fail("invalid --request-timeout \"%s\"", cli_g.request_timeout);
      return NULL;
    }
    o.timeout_ms = ms;
  }
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  the_client = kube_client_new(&o, &err);
  if (!the_client) {
    cli_fail("%s", err.message);
    return NULL;
  }
  atexit(free_client);
  return the_client;
}

const char *cli_namespace(void) {
  if (cli_g.namespace_ && *cli_g.namespace_)
    return cli_g.namespace_;
  kube_client_t *c = cli_client();
  return c ? kube_client_namespace(c) : "default";
}

void cli_print_error(kube_error_t *err) {
  cli_print_error_ctx(err, NULL);
}

void cli_print_error_ctx(kube_error_t *err, const char *context) {
  int status = the_client ? kube_client_last_status(the_client) : 0;
  const char *msg = err && err->message ? err->message : "unknown error";
  if (status >= 400 && err && err->reason == KUBE_REASON_INVALID &&
      err->details_kind && err->details_name && err->n_causes > 0) {
    /* kubectl rebuilds Invalid errors from the Status details. */
    fprintf(stderr, "The %s \"%s\" is invalid: %s", err->details_kind,
            err->details_name, err->n_causes > 1 ? "\n* " : "");
    for (size_t i = 0; i < err->n_causes; i++) {
      const kube_error_cause_t *c = &err->causes[i];
      fprintf(stderr, "%s%s%s%s", i ? "\n* " : "", c->field ? c->field : "",
              c->field && *c->field ? ": " : "", c->message ? c->message : "");
    }
    fputc('\n', stderr);
    return;
  }
  if (status >= 400) {
    const char *reason = kube_reason_string(err ? err->reason : 0);
    if (*reason)
      fprintf(stderr, "Error from server (%s): %s%s\n", reason,
              context ? context : "", msg);
    else
      fprintf(stderr, "Error from server: %s%s\n", context ? context : "", msg);
  } else if (err && err->reason == KUBE_REASON_SERVICE_UNAVAILABLE &&
             status == 0) {
    fprintf(stderr, "%s\n", msg);
  } else {
    fprintf(stderr, "error: %s\n", msg);
  }
}

int cli_report(kube_error_t *err) {
  cli_print_error(err);
  return 1;
}

const kube_kind_t *cli_resolve(const char *name, kube_error_t *err) {
  const kube_kind_t *k = kube_kind_resolve(name);
  if (!k) {
    /* "deployment.apps": singular or short name qualified by a group. */
    const char *dot = strchr(name, '.');
    if (dot) {
      cleanup_free char *base = strndup(name, (size_t)(dot - name));
      const kube_kind_t *b = base ? kube_kind_resolve(base) : NULL;
      if (b && b->group && streq(b->group, dot + 1))
        k = b;
    }
  }
  if (!k)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "the server doesn't have a resource type \"%s\"", name);
  return k;
}

const char *cli_kind_name(const kube_kind_t *k, char *buf, size_t len) {
  if (k->group && *k->group)
    snprintf(buf, len, "%s.%s", k->singular, k->group);
  else
    snprintf(buf, len, "%s", k->singular);
  return buf;
}

static int push_ref(struct cli_ref **refs, size_t *n, size_t *cap,
                    const kube_kind_t *k, const char *name) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    struct cli_ref *nr = realloc(*refs, nc * sizeof *nr);
    if (!nr)
      return -1;
    *refs = nr;
    *cap = nc;
  }
  (*refs)[(*n)++] = (struct cli_ref){k, name};
  return 0;
}

/* Resolve a comma-separated list of types, expanding "all". */
static int add_types(const char *types, const char *name, struct cli_ref **refs,
                     size_t *n, size_t *cap) {
  cleanup_free char *copy = strdup(types);
  if (!copy)
    return -1;
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t;
       t = strtok_r(NULL, ",", &save)) {
    if (streq(t, "all")) {
      for (size_t i = 0; i < kube_kinds_count(); i++) {
        const kube_kind_t *k = kube_kinds_at(i);
        for (size_t c = 0; k->categories && k->categories[c]; c++)
          if (streq(k->categories[c], "all") &&
              push_ref(refs, n, cap, k, name) < 0)
            return -1;
      }
      continue;
    }
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    const kube_kind_t *k = cli_resolve(t, &err);
    if (!k) {
      cli_report(&err);
      return -1;
    }
    if (push_ref(refs, n, cap, k, name) < 0)
      return -1;
  }
  return 0;
}

int cli_parse_refs(char **args, int nargs, struct cli_ref **out,
                   size_t *n_out) {
  struct cli_ref *refs = NULL;
  size_t n = 0, cap = 0;
  *out = NULL;
  *n_out = 0;
  if (nargs == 0)
    return 0;
  if (strchr(args[0], '/')) {
    for (int i = 0; i < nargs; i++) {
      char *slash = strchr(args[i], '/');
      if (!slash || !slash[1]) {
        free(refs);
        return cli_fail("there is no need to specify a resource type as a "
                        "separate argument when passing arguments in "
                        "resource/name form (e.g. 'kube get resource/<name>' "
                        "instead of 'kube get resource resource/<name>'"),
               -1;
      }
      *slash = '\0';
      int r = add_types(args[i], slash + 1, &refs, &n, &cap);
      *slash = '/';
      if (r < 0) {
        free(refs);
        return -1;
      }
    }
  } else if (nargs == 1) {
    if (add_types(args[0], NULL, &refs, &n, &cap) < 0) {
      free(refs);
      return -1;
    }
  } else {
    for (int i = 1; i < nargs; i++) {
      if (strchr(args[i], '/')) {
        free(refs);
        return cli_fail("there is no need to specify a resource type as a "
                        "separate argument when passing arguments in "
                        "resource/name form (e.g. 'kube get resource/<name>' "
                        "instead of 'kube get resource resource/<name>'"),
               -1;
      }
      if (add_types(args[0], args[i], &refs, &n, &cap) < 0) {
        free(refs);
        return -1;
      }
    }
  }
  *out = refs;
  *n_out = n;
  return 0;
}

char *cli_slurp_fd(int fd, size_t *len) {
  kube_strbuf_t sb = KUBE_STRBUF_INIT;
  if (kube_read_all(fd, &sb) < 0) {
    kube_strbuf_free(&sb);
    return NULL;
  }
  kube_strbuf_append(&sb, "");
  if (len)
    *len = sb.len;
  return kube_strbuf_steal(&sb);
}

struct objlist {
  kube_object_t **v;
  char **src; /* the file each object came from (owned) */
  size_t n, cap;
};

static int decode_into(struct objlist *l, const char *data, size_t len,
                       const char *source) {
  kube_object_t **objs = NULL;
  size_t n = 0;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_objects_decode(data, len, &objs, &n, &err) < 0)
    return cli_fail("error parsing %s: %s", source, err.message), -1;
  for (size_t i = 0; i < n; i++) {
    if (l->n == l->cap) {
      size_t nc = l->cap ? l->cap * 2 : 8;
      kube_object_t **nv = realloc(l->v, nc * sizeof *nv);
      char **ns = nv ? realloc(l->src, nc * sizeof *ns) : NULL;
      if (nv)
        l->v = nv;
      if (!nv || !ns) {
        kube_object_array_free(objs + i, n - i);
        free(objs);
        return cli_fail("out of memory"), -1;
      }
      l->src = ns;
      l->cap = nc;
    }
    l->src[l->n] = strdup(source);
    l->v[l->n++] = objs[i];
  }
  free(objs);
  return 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_path(struct objlist *l, const char *path, bool recursive,
                     bool top) {
  if (streq(path, "-")) {
    size_t len;
    cleanup_free char *data = cli_slurp_fd(0, &len);
    if (!data)
      return cli_fail("reading stdin: %s", strerror(errno)), -1;
    return decode_into(l, data, len, "STDIN");
  }
  struct stat st;
  if (stat(path, &st) < 0)
    return cli_fail("the path \"%s\" does not exist", path), -1;
  if (S_ISDIR(st.st_mode)) {
    if (!top && !recursive)
      return 0;
    DIR *d = opendir(path);
    if (!d)
      return cli_fail("open %s: %s", path, strerror(errno)), -1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      char **nn = realloc(names, (n + 1) * sizeof *nn);
      if (!nn || asprintf(&nn[n], "%s/%s", path, de->d_name) < 0) {
        names = nn ? nn : names;
        break;
      }
      names = nn;
      n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    int r = 0;
    for (size_t i = 0; i < n; i++) {
      struct stat es;
      if (r == 0 && stat(names[i], &es) == 0) {
        if (S_ISDIR(es.st_mode))
          r = read_path(l, names[i], recursive, false);
        else if (str_has_suffix(names[i], ".yaml") ||
                 str_has_suffix(names[i], ".yml") ||
                 str_has_suffix(names[i], ".json"))
          r = read_path(l, names[i], recursive, false);
      }
      free(names[i]);
    }
    free(names);
    return r;
  }
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cli_fail("open %s: %s", path, strerror(errno)), -1;
  size_t len;
  cleanup_free char *data = cli_slurp_fd(fd, &len);
  if (!data)
    return cli_fail("read %s: %s", path, strerror(errno)), -1;
  return decode_into(l, data, len, path);
}

void cli_free_sources(char **sources, size_t n) {
  for (size_t i = 0; sources && i < n; i++)
    free(sources[i]);
  free(sources);
}

int cli_read_files(const struct cli_strv *files, bool recursive,
                   kube_object_t ***objs, size_t *n, char ***sources) {
  struct objlist l = {0};
  for (size_t i = 0; i < files->n; i++)
    if (read_path(&l, files->v[i], recursive, true) < 0) {
      kube_object_array_free(l.v, l.n);
      cli_free_sources(l.src, l.n);
      return -1;
    }
  if (l.n == 0) {
    kube_object_array_free(l.v, l.n);
    cli_free_sources(l.src, l.n);
    return cli_fail("no objects passed to apply"), -1;
  }
  *objs = l.v;
  *n = l.n;
  if (sources)
    *sources = l.src;
  else
    cli_free_sources(l.src, l.n);
  return 0;
}

const kube_kind_t *cli_kind_of(const kube_object_t *obj, kube_error_t *err) {
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  if (!k || !*k)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'Kind' is missing in '%s'",
                          kube_object_name(obj) ? kube_object_name(obj) : ""),
           NULL;
  if (!av || !*av)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "Object 'apiVersion' is missing"),
           NULL;
  const kube_kind_t *kind = kube_kind_by_kind(av, k);
  if (!kind)
    kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                   "unable to recognize \"%s\": no matches for kind \"%s\" in "
                   "version \"%s\"",
                   kube_object_name(obj) ? kube_object_name(obj) : "", k, av);
  return kind;
}

int cli_output_parse(const char *o, enum cli_output *out, const char **arg) {
  *arg = NULL;
  if (!o || !*o)
    *out = CLI_OUT_DEFAULT;
  else if (streq(o, "wide"))
    *out = CLI_OUT_WIDE;
  else if (streq(o, "json"))
    *out = CLI_OUT_JSON;
  else if (streq(o, "yaml"))
    *out = CLI_OUT_YAML;
  else if (streq(o, "name"))
    *out = CLI_OUT_NAME;
  else if (str_has_prefix(o, "jsonpath=")) {
    *out = CLI_OUT_JSONPATH;
    *arg = o + 9;
  } else if (str_has_prefix(o, "custom-columns=")) {
    *out = CLI_OUT_CUSTOM_COLUMNS;
    *arg = o + 15;
  } else {
    return cli_fail("unable to match a printer suitable for the output format "
                    "\"%s\", allowed formats are: "
                    "custom-columns,json,jsonpath,name,wide,yaml",
                    o),
           -1;
  }
  return 0;
}

char *cli_object_ref(const kube_object_t *obj) {
  const char *av = kube_object_api_version(obj), *k = kube_object_kind(obj);
  const kube_kind_t *kind = av && k ? kube_kind_by_kind(av, k) : NULL;
  char kn[128], *out = NULL;
  if (kind) {
    cli_kind_name(kind, kn, sizeof kn);
  } else {
    snprintf(kn, sizeof kn, "%s", k ? k : "unknown");
    for (char *p = kn; *p; p++)
      *p = (char)tolower((unsigned char)*p);
  }
  if (asprintf(&out, "%s/%s", kn,
               kube_object_name(obj) ? kube_object_name(obj) : "") < 0)
    return NULL;
  return out;
}

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy with object keys sorted, as kubectl prints unstructured objects
 * (Go's encoding/json sorts map keys).  New reference. */
static json_object *sorted_copy(json_object *v) {
  if (json_object_is_type(v, json_type_object)) {
    size_t n = (size_t)json_object_object_length(v), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_object *out = json_object_new_object();
    if (!keys || !out) {
      free(keys);
      json_object_put(out);
      return NULL;
    }
    json_object_object_foreach(v, k, val) {
      (void)val;
      keys[i++] = k;
    }
    qsort(keys, n, sizeof *keys, cmp_cstr);
    for (i = 0; i < n; i++)
      json_object_object_add(out, keys[i],
                             sorted_copy(json_object_object_get(v, keys[i])));
    free(keys);
    return out;
  }
  if (json_object_is_type(v, json_type_array)) {
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < json_object_array_length(v); i++)
      json_object_array_add(out, sorted_copy(json_object_array_get_idx(v, i)));
    return out;
  }
  return json_object_get(v);
}

int cli_print_object(const kube_object_t *obj, enum cli_output fmt,
                     const char *arg) {
  cleanup_free char *s = NULL;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  switch (fmt) {
  case CLI_OUT_JSON: {
    kube_object_t *sorted =
        kube_object_wrap(sorted_copy(kube_object_json(obj)));
    s = sorted ? kube_object_to_json(sorted, KUBE_JSON_PRETTY) : NULL;
    kube_object_free(sorted);
    break;
  }
  case CLI_OUT_YAML:
    s = kube_object_to_yaml(obj);
    break;
  case CLI_OUT_NAME: {
    cleanup_free char *ref = cli_object_ref(obj);
    if (ref && asprintf(&s, "%s\n", ref) < 0)
      s = NULL;
    break;
  }
  case CLI_OUT_JSONPATH:
    s = kube_jsonpath_eval(obj, arg, &err);
    if (!s)
      return cli_fail("%s", err.message);
    break;
  default:
    return cli_fail("output format not supported here");
  }
  if (!s)
    return cli_fail("out of memory");
  fputs(s, stdout);
  return 0;
}

const char *cli_dry_run(const char *v, bool set) {
  if (!set || !v)
    return "none";
  if (!*v || streq(v, "true") || streq(v, "client"))
    return "client";
  if (streq(v, "server"))
    return "server";
  if (streq(v, "none") || streq(v, "false"))
    return "none";
  cli_fail("Invalid dry-run value (%s). Must be \"none\", \"server\", or "
           "\"client\".",
           v);
  return NULL;
}

int cli_print_result(const kube_object_t *obj, const kube_kind_t *kind,
                     const char *verb, enum cli_output fmt, const char *arg,
                     const char *dry_run) {
  if (fmt != CLI_OUT_DEFAULT && fmt != CLI_OUT_WIDE)
    return cli_print_object(obj, fmt, arg);
  char kn[128];
  if (kind)
    cli_kind_name(kind, kn, sizeof kn);
  const char *suffix = dry_run && streq(dry_run, "client") ? " (dry run)"
                       : dry_run && streq(dry_run, "server")
                           ? " (server dry run)"
                           : "";
  if (kind) {
    printf("%s/%s %s%s\n", kn, kube_object_name(obj), verb, suffix);
  } else {
    cleanup_free char *ref = cli_object_ref(obj);
    printf("%s %s%s\n", ref ? ref : "?", verb, suffix);
  }
  return 0;
}

/* The namespace an object from a file goes to; NULL (after printing) when
 * it conflicts with an explicit -n. */
const char *cli_object_namespace(const kube_object_t *obj,
                                 const kube_kind_t *k) {
  if (!k->namespaced)
    return NULL;
  const char *ons = kube_object_namespace(obj);
  if (ons && *ons) {
    if (cli_g.namespace_ && *cli_g.namespace_ &&
        !streq(ons, cli_g.namespace_)) {
      cli_fail("the namespace from the provided object \"%s\" does not match "
               "the namespace \"%s\". You must pass '--namespace=%s' to "
               "perform this operation.",
               ons, cli_g.namespace_, ons);
      return "";
    }
    return ons;
  }
  return cli_namespace();
}
