/* SPDX-License-Identifier: Apache-2.0 */
/* kube rollout status|history|undo|pause|resume|restart: kubectl rollout,
 * word for word (the library's kube_rollout_* compute; this prints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int usage(void) {
  fprintf(stderr, "Manage the rollout of one or many resources.\n\n"
                  "Available Commands:\n"
                  "  history       View rollout history\n"
                  "  pause         Mark the provided resource as paused\n"
                  "  restart       Restart a resource\n"
                  "  resume        Resume a paused resource\n"
                  "  status        Show the status of the rollout\n"
                  "  undo          Undo a previous rollout\n\n"
                  "Usage:\n  kube rollout SUBCOMMAND [options]\n");
  return 1;
}

/* "30s", "2m", "1h", "0" -> seconds; -1 when malformed. */
static int64_t duration(const char *s) {
  if (!s || !*s)
    return 0;
  char *end;
  double v = strtod(s, &end);
  if (end == s)
    return -1;
  if (!*end || streq(end, "s"))
    return (int64_t)v;
  if (streq(end, "m"))
    return (int64_t)(v * 60);
  if (streq(end, "h"))
    return (int64_t)(v * 3600);
  if (streq(end, "ms"))
    return v > 0 ? 1 : 0;
  return -1;
}

static const char *kind_name(const kube_kind_t *k, char *buf, size_t len) {
  return kube_kind_display_name(k, buf, len);
}

/* ---- status ---- */

struct status_ctx {
  int64_t revision;
  bool watch;
  bool done;
  int rc;
  kube_error_t err;
};

static int on_event(const char *type, const kube_object_t *obj, void *arg) {
  struct status_ctx *s = arg;
  if (streq(type, "DELETED")) {
    kube_error_set(&s->err, KUBE_REASON_NOT_FOUND, 0,
                   "object has been deleted");
    s->rc = 1;
    return 1;
  }
  if (!streq(type, "ADDED") && !streq(type, "MODIFIED"))
    return 0;
  char *msg = NULL;
  bool done = false;
  if (kube_rollout_status(obj, s->revision, &msg, &done, &s->err) < 0) {
    s->rc = 1;
    return 1;
  }
  fputs(msg, stdout);
  fflush(stdout);
  free(msg);
  s->done = done;
  return done || !s->watch;
}

static int rollout_status(const struct cli_ref *r, int64_t revision, bool watch,
                          int64_t timeout) {
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *obj =
      kube_client_get(c, r->kind, cli_namespace(), r->name, &err);
  if (!obj)
    return cli_report(&err);
  /* The object itself first, then its changes (watchtools.UntilWithSync). */
  struct status_ctx s = {.revision = revision, .watch = watch};
  if (on_event("ADDED", obj, &s) || s.rc) {
    kube_object_free(obj);
    if (s.rc) {
      cli_print_error(&s.err);
      kube_error_clear(&s.err);
    }
    return s.rc;
  }
  char fs[600];
  snprintf(fs, sizeof fs, "metadata.name=%s", r->name);
  char rv[64];
  snprintf(rv, sizeof rv, "%s", kube_object_resource_version(obj) ?: "");
  kube_object_free(obj);
  time_t deadline = timeout > 0 ? time(NULL) + timeout : 0;
  while (!s.done && !s.rc) {
    int left = deadline ? (int)(deadline - time(NULL)) : 300;
    if (deadline && left <= 0) {
      fprintf(stderr, "error: timed out waiting for the condition\n");
      return 1;
    }
    kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                     .field_selector = fs,
                                     .resource_version = rv,
                                     .timeout_seconds = left};
    if (kube_client_watch(c, r->kind, cli_namespace(), &lo, on_event, &s,
                          &err) < 0)
      return cli_report(&err);
    if (s.rc) {
      cli_print_error(&s.err);
      kube_error_clear(&s.err);
      return 1;
    }
    /* Ended by the server: read again and go on from there. */
    obj = kube_client_get(c, r->kind, cli_namespace(), r->name, &err);
    if (!obj)
      return cli_report(&err);
    snprintf(rv, sizeof rv, "%s", kube_object_resource_version(obj) ?: "");
    if (!s.done && on_event("MODIFIED", obj, &s) && s.rc) {
      kube_object_free(obj);
      cli_print_error(&s.err);
      kube_error_clear(&s.err);
      return 1;
    }
    kube_object_free(obj);
  }
  return s.rc;
}

/* ---- the others ---- */

static bool is_deployment(const struct cli_ref *r) {
  return streq(r->kind->kind, "Deployment");
}

/* DaemonSets and StatefulSets keep ControllerRevisions. */
static bool has_revisions(const struct cli_ref *r) {
  return streq(r->kind->group, "apps") && (streq(r->kind->kind, "DaemonSet") ||
                                           streq(r->kind->kind, "StatefulSet"));
}

static int rollout_history(const struct cli_ref *r, int64_t revision) {
  char kn[128];
  if (!is_deployment(r) && !has_revisions(r)) {
    fprintf(stderr, "error: no history viewer has been implemented for %s\n",
            r->kind->kind);
    return 1;
  }
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  char *out = NULL;
  if ((is_deployment(r)
           ? kube_rollout_history(c, cli_namespace(), r->name, revision, &out,
                                  &err)
           : kube_rollout_revisions_history(c, r->kind, cli_namespace(),
                                            r->name, revision, &out, &err)) < 0)
    return cli_report(&err);
  char with[64] = "";
  if (revision > 0)
    snprintf(with, sizeof with, "with revision #%lld", (long long)revision);
  printf("%s/%s %s\n%s\n", kind_name(r->kind, kn, sizeof kn), r->name, with,
         out);
  free(out);
  return 0;
}

static int rollout_undo(const struct cli_ref *r, int64_t to_revision,
                        const char *dry_run) {
  char kn[128];
  if (!is_deployment(r) && !has_revisions(r)) {
    fprintf(stderr, "error: no rollbacker has been implemented for %s\n",
            r->kind->kind);
    return 1;
  }
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  char *out = NULL;
  if ((is_deployment(r) ? kube_rollout_undo(c, cli_namespace(), r->name,
                                            to_revision, dry_run, &out, &err)
                        : kube_rollout_revisions_undo(
                              c, r->kind, cli_namespace(), r->name, to_revision,
                              dry_run, &out, &err)) < 0) {
    cli_print_error(&err);
    return 1;
  }
  const char *suffix = streq(dry_run, "client")   ? " (dry run)"
                       : streq(dry_run, "server") ? " (server dry run)"
                                                  : "";
  printf("%s/%s %s%s\n", kind_name(r->kind, kn, sizeof kn), r->name, out,
         suffix);
  free(out);
  return 0;
}

static int rollout_set(const struct cli_ref *r, kube_rollout_action_t a) {
  char kn[128];
  kube_client_t *c = cli_client();
  if (!c)
    return 1;
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  char *out = NULL;
  if (kube_rollout_set(c, r->kind, cli_namespace(), r->name, a, &out, &err) <
      0) {
    cli_print_error(&err);
    return 1;
  }
  printf("%s/%s %s\n", kind_name(r->kind, kn, sizeof kn), r->name, out);
  free(out);
  return 0;
}

int cmd_rollout(int argc, char **argv) {
  if (argc < 2 || streq(argv[1], "--help") || streq(argv[1], "-h"))
    return usage();
  const char *sub = argv[1];
  int64_t revision = 0, to_revision = 0;
  const char *timeout = NULL, *dry_run_v = NULL, *dry_run;
  bool watch = true, dry_run_set = false;
  const struct cli_flag flags[] = {
      {"revision", 0, CLI_INT, &revision, NULL},
      {"to-revision", 0, CLI_INT, &to_revision, NULL},
      {"timeout", 0, CLI_STRING, &timeout, NULL},
      {"watch", 'w', CLI_BOOL, &watch, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0;
  if (cli_parse(argc - 1, argv + 1, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)))
    goto out;
  int64_t tmo = duration(timeout);
  if (tmo < 0) {
    rc = cli_fail("invalid argument \"%s\" for \"--timeout\" flag", timeout);
    goto out;
  }
  if (npos == 0) {
    rc = cli_fail("required resource not specified");
    goto out;
  }
  if (cli_parse_refs(pos, npos, &refs, &nrefs) < 0)
    goto out;
  rc = 0;
  for (size_t i = 0; i < nrefs; i++) {
    if (!refs[i].name) {
      rc = cli_fail("resource(s) were provided, but no name was specified");
      continue;
    }
    int r;
    if (streq(sub, "status"))
      r = rollout_status(&refs[i], revision, watch, tmo);
    else if (streq(sub, "history"))
      r = rollout_history(&refs[i], revision);
    else if (streq(sub, "undo"))
      r = rollout_undo(&refs[i], to_revision, dry_run);
    else if (streq(sub, "pause"))
      r = rollout_set(&refs[i], KUBE_ROLLOUT_PAUSE);
    else if (streq(sub, "resume"))
      r = rollout_set(&refs[i], KUBE_ROLLOUT_RESUME);
    else if (streq(sub, "restart"))
      r = rollout_set(&refs[i], KUBE_ROLLOUT_RESTART);
    else {
      rc = cli_fail("unknown command \"%s\" for \"kube rollout\"", sub);
      break;
    }
    if (r)
      rc = r;
  }
out:
  free(refs);
  free(pos);
  return rc;
}
