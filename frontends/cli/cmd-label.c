/* SPDX-License-Identifier: Apache-2.0 */
/* kube label / kube annotate: merge-patch metadata.labels|annotations. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

/* One object to change. */
struct target {
  const kube_kind_t *kind;
  char *name;
};

static int add_target(struct target **ts, size_t *n, const kube_kind_t *k,
                      const char *name) {
  struct target *nt = realloc(*ts, (*n + 1) * sizeof *nt);
  if (!nt)
    return -1;
  *ts = nt;
  nt[*n] = (struct target){k, strdup(name ? name : "")};
  if (!nt[*n].name)
    return -1;
  (*n)++;
  return 0;
}

struct list_targets {
  struct target **ts;
  size_t *n;
  const kube_kind_t *kind;
};

static int add_item(const kube_object_t *item, void *ud) {
  struct list_targets *l = ud;
  return add_target(l->ts, l->n, l->kind, kube_object_name(item)) < 0;
}

static void print_label(const char *key, const char *value, void *ud) {
  printf("%s=%s\n", key, value);
}

/* Refuse to overwrite without --overwrite; say which removals find no
 * key.  False when the object must not be changed. */
static bool check_changes(const kube_object_t *live,
                          const kube_meta_change_t *ch, size_t n, bool annotate,
                          bool overwrite) {
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    const char *old = annotate ? kube_object_annotation(live, ch[i].key)
                               : kube_object_label(live, ch[i].key);
    if (ch[i].value && old && !overwrite && !streq(old, ch[i].value)) {
      cli_fail("'%s' already has a value (%s), and --overwrite is false",
               ch[i].key, old);
      ok = false;
    }
    if (!ch[i].value && !old)
      fprintf(stderr, "%s \"%s\" not found.\n",
              annotate ? "annotation" : "label", ch[i].key);
  }
  return ok;
}

static int label_or_annotate(int argc, char **argv, bool annotate) {
  const char *verb = annotate ? "annotated" : "labeled";
  const char *selector = NULL, *output = NULL, *dry_run_v = NULL, *dry_run;
  const char *resource_version = NULL;
  bool overwrite = false, all = false, dry_run_set = false, list = false;
  const struct cli_flag flags[] = {
      {"overwrite", 0, CLI_BOOL, &overwrite, NULL},
      {"selector", 'l', CLI_STRING, &selector, NULL},
      {"all", 0, CLI_BOOL, &all, NULL},
      {"list", 0, CLI_BOOL, &list, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {"resource-version", 0, CLI_STRING, &resource_version, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0, nt = 0, nch = 0;
  struct target *ts = NULL;
  kube_meta_change_t *ch = NULL;
  kube_output_t out;
  cleanup_error kube_error_t perr = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &out) < 0)
    goto out;
  int nres = 0;
  while (nres < npos && !kube_meta_change_arg(pos[nres]))
    nres++;
  bool only_removals = true;
  for (int i = nres; i < npos; i++) {
    if (!kube_meta_change_arg(pos[i])) {
      rc = cli_fail("all resources must be specified before %s changes: %s",
                    annotate ? "annotation" : "label", pos[i]);
      goto out;
    }
    kube_meta_change_t *one = NULL;
    size_t n1 = 0;
    if (kube_meta_changes_parse((const char *const *)&pos[i], 1, annotate, &one,
                                &n1, &perr) < 0) {
      rc = cli_fail("%s", perr.message);
      goto out;
    }
    kube_meta_changes_free(one, n1);
    if (strchr(pos[i], '='))
      only_removals = false;
  }
  if (kube_meta_changes_parse((const char *const *)pos + nres,
                              (size_t)(npos - nres), annotate, &ch, &nch,
                              &perr) < 0) {
    rc = cli_fail("%s", perr.message);
    goto out;
  }
  if (nres == 0) {
    rc = cli_fail("one or more resources must be specified as <resource> "
                  "<name> or <resource>/<name>");
    goto out;
  }
  if (nch == 0 && !list) {
    rc = cli_fail("at least one %s update is required",
                  annotate ? "annotation" : "label");
    goto out;
  }
  /* kubectl (since 1.2x) words a pure removal "unlabeled". */
  if (!annotate && only_removals)
    verb = "unlabeled";
  if (cli_parse_refs(pos, nres, &refs, &nrefs) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  /* Targets: named refs, or every object of the kind matching -l/--all. */
  for (size_t i = 0; i < nrefs; i++) {
    if (refs[i].name) {
      if (add_target(&ts, &nt, refs[i].kind, refs[i].name) < 0)
        goto oom;
      continue;
    }
    if (!all && !selector) {
      rc = cli_fail("resource(s) were provided, but no name was specified");
      goto out;
    }
    kube_client_list_options_t lo = {.struct_size = sizeof lo,
                                     .label_selector = selector};
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *l =
        kube_client_list(c, refs[i].kind, cli_namespace(), &lo, &err);
    if (!l) {
      rc = cli_report(&err);
      goto out;
    }
    struct list_targets lt = {&ts, &nt, refs[i].kind};
    int r = kube_list_foreach(l, add_item, &lt);
    kube_object_free(l);
    if (r)
      goto oom;
  }
  rc = 0;
  for (size_t i = 0; i < nt; i++) {
    const kube_kind_t *k = ts[i].kind;
    const char *name = ts[i].name;
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *live = kube_client_get(c, k, cli_namespace(), name, &err);
    if (!live) {
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    if (list) {
      kube_object_foreach_label(live, annotate, print_label, NULL);
      kube_object_free(live);
      continue;
    }
    if (!check_changes(live, ch, nch, annotate, overwrite)) {
      kube_object_free(live);
      rc = 1;
      continue;
    }
    const char *old_rv = kube_object_resource_version(live);
    kube_object_t *res = live;
    if (!streq(dry_run, "client")) {
      cleanup_free char *patch =
          kube_meta_changes_patch(ch, nch, annotate, resource_version, &err);
      kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                        .dry_run = streq(dry_run, "server"),
                                        .grace_period = -1};
      res = patch ? kube_client_patch(c, k, cli_namespace(), name, NULL,
                                      KUBE_PATCH_MERGE, patch, &wo, &err)
                  : NULL;
    }
    if (!res) {
      cli_print_error(&err);
      rc = 1;
    } else {
      const char *new_rv = kube_object_resource_version(res);
      bool changed = res == live || !old_rv || !new_rv ||
                     !streq(old_rv, new_rv) || !streq(dry_run, "none");
      cli_print_result(res, k,
                       changed    ? verb
                       : annotate ? "not annotated"
                                  : "not labeled",
                       &out, dry_run);
    }
    if (res != live)
      kube_object_free(res);
    kube_object_free(live);
  }
  goto out;
oom:
  rc = cli_fail("out of memory");
out:
  kube_meta_changes_free(ch, nch);
  for (size_t i = 0; i < nt; i++)
    free(ts[i].name);
  free(ts);
  free(refs);
  free(pos);
  return rc;
}

int cmd_label(int argc, char **argv) {
  return label_or_annotate(argc, argv, false);
}

int cmd_annotate(int argc, char **argv) {
  return label_or_annotate(argc, argv, true);
}
