/* SPDX-License-Identifier: Apache-2.0 */
/* kube delete: by name, -f, -l, --all; waits until the objects are gone. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

struct delete_opts {
  const char *selector, *field_selector, *dry_run_v, *dry_run, *cascade;
  const char *timeout, *output;
  bool dry_run_set, all, all_ns, now, force, ignore_not_found, recursive;
  bool wait;
  int64_t grace_period;
  struct cli_strv files;
};

/* One object to delete and, once deleted, to wait for. */
struct target {
  const kube_kind_t *kind;
  char *ns, *name, *uid;
};

static int add_target(struct target **ts, size_t *n, const kube_kind_t *k,
                      const char *ns, const char *name) {
  struct target *nt = realloc(*ts, (*n + 1) * sizeof *nt);
  if (!nt)
    return -1;
  *ts = nt;
  nt[*n] = (struct target){k, ns ? strdup(ns) : NULL, strdup(name), NULL};
  (*n)++;
  return 0;
}

static const char *propagation(const char *cascade) {
  if (!cascade || streq(cascade, "background") || streq(cascade, "true"))
    return "Background";
  if (streq(cascade, "foreground"))
    return "Foreground";
  if (streq(cascade, "orphan") || streq(cascade, "false"))
    return "Orphan";
  return NULL;
}

struct list_targets {
  struct target **ts;
  size_t *n;
  const kube_kind_t *kind;
};

static int add_item(const kube_object_t *item, void *ud) {
  struct list_targets *l = ud;
  const char *name = kube_object_name(item);
  return add_target(l->ts, l->n, l->kind, kube_object_namespace(item),
                    name ? name : "") < 0;
}

/* Expand -l / --all for one kind into targets. */
static int list_targets(kube_client_t *c, const kube_kind_t *k, const char *ns,
                        struct delete_opts *o, struct target **ts, size_t *n) {
  kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                   .label_selector = o->selector,
                                   .field_selector = o->field_selector};
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *list =
      kube_client_list(c, k, k->namespaced ? ns : NULL, &lo, &err);
  if (!list)
    return cli_report(&err), -1;
  struct list_targets lt = {ts, n, k};
  int r = kube_list_foreach(list, add_item, &lt);
  kube_object_free(list);
  if (r)
    return cli_fail("out of memory"), -1;
  return 0;
}

/* Poll until the object is gone (NotFound or replaced by a new uid). */
static int wait_gone(kube_client_t *c, const struct target *t,
                     int64_t deadline_ns) {
  for (;;) {
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *obj = kube_client_get(c, t->kind, t->ns, t->name, &err);
    if (!obj) {
      if (err.reason == KUBE_REASON_NOT_FOUND)
        return 0;
      return cli_report(&err);
    }
    const char *uid = kube_object_uid(obj);
    bool replaced = t->uid && uid && !streq(uid, t->uid);
    kube_object_free(obj);
    if (replaced)
      return 0;
    if (deadline_ns > 0 && kube_time_mono_ns() > deadline_ns) {
      char kn[128];
      return cli_fail("timed out waiting for the condition on %s/%s",
                      kube_kind_display_name(t->kind, kn, sizeof kn), t->name);
    }
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static int parse_timeout_ns(const char *s, int64_t *out) {
  if (!s || !*s) {
    *out = 0;
    return 0;
  }
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0)
    return -1;
  double mult = !*end || streq(end, "s") ? 1e9
                : streq(end, "ms")       ? 1e6
                : streq(end, "m")        ? 60e9
                : streq(end, "h")        ? 3600e9
                                         : -1;
  if (mult < 0)
    return -1;
  *out = (int64_t)(v * mult);
  return 0;
}

int cmd_delete(int argc, char **argv) {
  struct delete_opts o = {.grace_period = -1, .wait = true};
  const struct cli_flag flags[] = {
      {"filename", 'f', CLI_STRINGS, &o.files, NULL},
      {"recursive", 'R', CLI_BOOL, &o.recursive, NULL},
      {"selector", 'l', CLI_STRING, &o.selector, NULL},
      {"field-selector", 0, CLI_STRING, &o.field_selector, NULL},
      {"all", 0, CLI_BOOL, &o.all, NULL},
      {"all-namespaces", 'A', CLI_BOOL, &o.all_ns, NULL},
      {"grace-period", 0, CLI_INT, &o.grace_period, NULL},
      {"now", 0, CLI_BOOL, &o.now, NULL},
      {"force", 0, CLI_BOOL, &o.force, NULL},
      {"wait", 0, CLI_BOOL, &o.wait, NULL},
      {"timeout", 0, CLI_STRING, &o.timeout, NULL},
      {"cascade", 0, CLI_STRING, &o.cascade, NULL},
      {"ignore-not-found", 0, CLI_BOOL, &o.ignore_not_found, NULL},
      {"dry-run", 0, CLI_STRING, &o.dry_run_v, &o.dry_run_set},
      {"output", 'o', CLI_STRING, &o.output, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct target *ts = NULL;
  size_t nt = 0;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  kube_manifest_t m = KUBE_MANIFEST_INIT;
  int64_t timeout_ns = 0;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(o.dry_run = cli_dry_run(o.dry_run_v, o.dry_run_set)))
    goto out;
  if (!propagation(o.cascade)) {
    rc = cli_fail("invalid cascade value (%s). Must be \"background\", "
                  "\"foreground\", or \"orphan\"",
                  o.cascade);
    goto out;
  }
  if (o.output && !streq(o.output, "name")) {
    rc = cli_fail("unexpected -o output mode: %s, the flag 'output' must be "
                  "one of yaml|wide|name|json",
                  o.output);
    goto out;
  }
  if (parse_timeout_ns(o.timeout, &timeout_ns) < 0) {
    rc = cli_fail("invalid --timeout \"%s\"", o.timeout);
    goto out;
  }
  if (o.now)
    o.grace_period = 1;
  if (o.force && o.grace_period < 0)
    o.grace_period = 0;
  if (o.force && o.grace_period == 0)
    fprintf(stderr,
            "warning: Immediate deletion does not wait for confirmation "
            "that the running resource has been terminated. The resource "
            "may continue to run on the cluster indefinitely.\n");
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  const char *ns = o.all_ns ? NULL : cli_namespace();
  if (o.files.n > 0) {
    if (cli_read_files(&o.files, o.recursive, &m) < 0)
      goto out;
    for (size_t i = 0; i < m.n; i++) {
      cleanup_error kube_error_t err = KUBE_ERROR_INIT;
      const kube_kind_t *k =
          kube_client_kind_of_object(cli_client(), m.objects[i], &err);
      if (!k) {
        rc = cli_report(&err);
        goto out;
      }
      const char *ons = cli_object_namespace(m.objects[i], k);
      if (ons && !*ons)
        goto out;
      if (add_target(&ts, &nt, k, ons, kube_object_name(m.objects[i])) < 0)
        goto oom;
    }
  } else {
    if (npos == 0) {
      rc = cli_fail("You must provide one or more resources by argument or "
                    "filename.\nExample resource specifications include:\n"
                    "   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                    "   '<resource> <name>'\n   '<resource>'");
      goto out;
    }
    if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
      goto out;
    bool by_name = nrefs > 0 && refs[0].name;
    if (by_name && (o.all || o.selector)) {
      rc = cli_fail("name cannot be provided when a selector is specified");
      goto out;
    }
    if (!by_name && !o.all && !o.selector && !o.field_selector) {
      rc = cli_fail("resource(s) were provided, but no name was specified");
      goto out;
    }
    for (size_t i = 0; i < nrefs; i++) {
      if (refs[i].name) {
        if (add_target(&ts, &nt, refs[i].kind,
                       refs[i].kind->namespaced ? cli_namespace() : NULL,
                       refs[i].name) < 0)
          goto oom;
      } else if (list_targets(c, refs[i].kind, ns, &o, &ts, &nt) < 0) {
        goto out;
      }
    }
    if (nt == 0 && !by_name) {
      fprintf(stderr, "No resources found\n");
      rc = 0;
      goto out;
    }
  }
  rc = 0;
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run = streq(o.dry_run, "server"),
                                    .grace_period = o.grace_period,
                                    .propagation = propagation(o.cascade)};
  const char *suffix = streq(o.dry_run, "client")   ? " (dry run)"
                       : streq(o.dry_run, "server") ? " (server dry run)"
                                                    : "";
  bool *deleted = calloc(nt ? nt : 1, sizeof *deleted);
  if (!deleted)
    goto oom;
  for (size_t i = 0; i < nt; i++) {
    char kn[128];
    kube_kind_display_name(ts[i].kind, kn, sizeof kn);
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    if (streq(o.dry_run, "client")) {
      kube_object_t *live =
          kube_client_get(c, ts[i].kind, ts[i].ns, ts[i].name, &err);
      if (!live) {
        if (!(o.ignore_not_found && err.reason == KUBE_REASON_NOT_FOUND)) {
          cli_print_error(&err);
          rc = 1;
        }
        continue;
      }
      kube_object_free(live);
    } else {
      kube_object_t *res = NULL;
      if (kube_client_delete(c, ts[i].kind, ts[i].ns, ts[i].name, &wo, &res,
                             &err) < 0) {
        if (!(o.ignore_not_found && err.reason == KUBE_REASON_NOT_FOUND)) {
          cli_print_error(&err);
          rc = 1;
        }
        continue;
      }
      const char *uid = res ? kube_object_uid(res) : NULL;
      if (!uid && res)
        uid = kube_object_get_string(res, "details.uid");
      ts[i].uid = uid ? strdup(uid) : NULL;
      kube_object_free(res);
      deleted[i] = true;
    }
    if (o.output)
      printf("%s/%s\n", kn, ts[i].name);
    else
      printf("%s \"%s\" %s%s\n", kn, ts[i].name,
             o.force && o.grace_period == 0 ? "force deleted" : "deleted",
             suffix);
    fflush(stdout);
  }
  if (o.wait && !wo.dry_run) {
    int64_t deadline = timeout_ns > 0 ? kube_time_mono_ns() + timeout_ns : 0;
    for (size_t i = 0; i < nt; i++)
      if (deleted[i] && wait_gone(c, &ts[i], deadline))
        rc = 1;
  }
  free(deleted);
  goto out;
oom:
  rc = cli_fail("out of memory");
out:
  for (size_t i = 0; i < nt; i++) {
    free(ts[i].ns);
    free(ts[i].name);
    free(ts[i].uid);
  }
  free(ts);
  free(refs);
  kube_manifest_clear(&m);
  free(o.files.v);
  free(pos);
  return rc;
}
