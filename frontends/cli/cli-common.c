/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the cluster verbs: client, errors, resources, -f, -o. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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

kube_client_t *cli_client_new(void) {
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
  kube_client_t *c = kube_client_new(&o, &err);
  if (!c)
    cli_fail("%s", err.message);
  return c;
}

kube_client_t *cli_client(void) {
  if (the_client)
    return the_client;
  if (!(the_client = cli_client_new()))
    return NULL;
  atexit(free_client);
  return the_client;
}

const char *cli_field_validation(const char *validate) {
  if (!validate || streq(validate, "strict") || streq(validate, "true"))
    return "Strict";
  if (streq(validate, "ignore") || streq(validate, "false"))
    return "Ignore";
  if (streq(validate, "warn"))
    return "Warn";
  cli_fail("invalid - validate option \"%s\"; must be one of: strict (or "
           "true), warn, ignore (or false)",
           validate);
  return NULL;
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
    const kube_kind_t *k = kube_client_resolve_kind(cli_client(), t, &err);
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
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      char *nb = realloc(buf, cap * 2);
      if (!nb)
        break;
      buf = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      errno = e;
      return NULL;
    }
    if (r == 0) {
      buf[n] = '\0';
      if (len)
        *len = n;
      return buf;
    }
    n += (size_t)r;
  }
  free(buf);
  errno = ENOMEM;
  return NULL;
}

int cli_read_files(const struct cli_strv *files, bool recursive,
                   kube_manifest_t *m) {
  for (size_t i = 0; i < files->n; i++) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (kube_manifest_read(m, files->v[i], recursive, &err) < 0) {
      kube_manifest_clear(m);
      return cli_fail("%s", err.message), -1;
    }
  }
  if (m->n == 0)
    return cli_fail("no objects passed to apply"), -1;
  return 0;
}

int cli_output_parse(const char *o, kube_output_t *out) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  if (kube_output_parse(o, out, &err) < 0)
    return cli_fail("%s", err.message), -1;
  return 0;
}

int cli_print_object(const kube_object_t *obj, const kube_output_t *out) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  cleanup_free char *s = kube_output_object(obj, out, &err);
  if (!s)
    return cli_fail("%s", err.message);
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
                     const char *verb, const kube_output_t *out,
                     const char *dry_run) {
  if (!kube_output_is_table(out))
    return cli_print_object(obj, out);
  char kn[128];
  if (kind)
    kube_kind_display_name(kind, kn, sizeof kn);
  const char *suffix = dry_run && streq(dry_run, "client") ? " (dry run)"
                       : dry_run && streq(dry_run, "server")
                           ? " (server dry run)"
                           : "";
  if (kind) {
    printf("%s/%s %s%s\n", kn, kube_object_name(obj), verb, suffix);
  } else {
    cleanup_free char *ref = kube_object_ref(obj);
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

/* ---- naming objects: TYPE NAME..., TYPE/NAME, TYPE -l SEL | --all ----------
 */

struct named_list {
  struct cli_named **v;
  size_t *n;
  const kube_kind_t *kind;
};

static int add_named(struct cli_named **v, size_t *n, const kube_kind_t *k,
                     const char *name) {
  struct cli_named *nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv)
    return -1;
  *v = nv;
  nv[*n].kind = k;
  nv[*n].name = strdup(name ? name : "");
  if (!nv[*n].name)
    return -1;
  (*n)++;
  return 0;
}

static int add_named_item(const kube_object_t *item, void *ud) {
  struct named_list *l = ud;
  return add_named(l->v, l->n, l->kind, kube_object_name(item));
}

int cli_expand_refs(kube_client_t *c, const struct cli_ref *refs, size_t n,
                    const char *selector, bool all, struct cli_named **out,
                    size_t *n_out) {
  *out = NULL;
  *n_out = 0;
  for (size_t i = 0; i < n; i++) {
    if (refs[i].name) {
      if (add_named(out, n_out, refs[i].kind, refs[i].name) < 0)
        goto oom;
      continue;
    }
    if (!all && !selector) {
      cli_fail("resource(s) were provided, but no name was specified");
      goto fail;
    }
    kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                     .label_selector = selector};
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    const kube_kind_t *k = refs[i].kind;
    kube_object_t *list = kube_client_list(
        c, k, k->namespaced ? cli_namespace() : NULL, &lo, &err);
    if (!list) {
      cli_report(&err);
      goto fail;
    }
    struct named_list nl = {out, n_out, k};
    int r = kube_list_foreach(list, add_named_item, &nl);
    kube_object_free(list);
    if (r)
      goto oom;
  }
  return 0;
oom:
  cli_fail("out of memory");
fail:
  cli_named_free(*out, *n_out);
  *out = NULL;
  *n_out = 0;
  return -1;
}

void cli_named_free(struct cli_named *v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i].name);
  free(v);
}
