/* SPDX-License-Identifier: Apache-2.0 */
/* kube label / kube annotate: merge-patch metadata.labels|annotations. */
#include <stdio.h>
#include <stdlib.h>

#include "api/api-private.h"
#include "cli.h"
#include "core/util.h"

static bool is_change(const char *a) {
  return strchr(a, '=') || (strlen(a) > 1 && str_has_suffix(a, "-"));
}

static int label_or_annotate(int argc, char **argv, bool annotate) {
  const char *field = annotate ? "annotations" : "labels";
  const char *verb = annotate ? "annotated" : "labeled";
  bool only_removals = true;
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
  size_t nrefs = 0;
  json_object *changes = NULL, *names = NULL;
  const kube_kind_t **kinds = NULL;
  enum cli_output fmt;
  const char *fmt_arg;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (!(dry_run = cli_dry_run(dry_run_v, dry_run_set)) ||
      cli_output_parse(output, &fmt, &fmt_arg) < 0)
    goto out;
  int nres = 0;
  while (nres < npos && !is_change(pos[nres]))
    nres++;
  changes = json_object_new_object();
  for (int i = nres; i < npos; i++) {
    if (!is_change(pos[i])) {
      rc = cli_fail("all resources must be specified before %s changes: %s",
                    annotate ? "annotation" : "label", pos[i]);
      goto out;
    }
    const char *eq = strchr(pos[i], '=');
    cleanup_free char *key = eq ? strndup(pos[i], (size_t)(eq - pos[i]))
                                : strndup(pos[i], strlen(pos[i]) - 1);
    if (!key)
      goto out;
    const char *why = kube_validate_label_key(key);
    if (why || (eq && !annotate && kube_validate_label_value(eq + 1))) {
      rc = cli_fail("invalid %s spec: %s", annotate ? "annotation" : "label",
                    pos[i]);
      goto out;
    }
    json_object_object_add(changes, key,
                           eq ? json_object_new_string(eq + 1) : NULL);
    if (eq)
      only_removals = false;
  }
  if (nres == 0) {
    rc = cli_fail("one or more resources must be specified as <resource> "
                  "<name> or <resource>/<name>");
    goto out;
  }
  if (json_object_object_length(changes) == 0 && !list) {
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
  names = json_object_new_array();
  size_t cap = 0;
#define ADD_TARGET(k, n)                                                       \
  do {                                                                         \
    size_t len_ = json_object_array_length(names);                             \
    if (len_ >= cap) {                                                         \
      cap = cap ? cap * 2 : 16;                                                \
      const kube_kind_t **nk = realloc(kinds, cap * sizeof *nk);               \
      if (!nk)                                                                 \
        goto out;                                                              \
      kinds = nk;                                                              \
    }                                                                          \
    kinds[len_] = (k);                                                         \
    json_object_array_add(names, json_object_new_string(n));                   \
  } while (0)
  for (size_t i = 0; i < nrefs; i++) {
    if (refs[i].name) {
      ADD_TARGET(refs[i].kind, refs[i].name);
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
    json_object *items = kube_json_get(kube_object_json(l), "items");
    for (size_t k = 0; items && k < json_object_array_length(items); k++)
      ADD_TARGET(refs[i].kind,
                 kube_json_get_string(json_object_array_get_idx(items, k),
                                      "metadata.name"));
    kube_object_free(l);
  }
  rc = 0;
  for (size_t i = 0; i < json_object_array_length(names); i++) {
    const kube_kind_t *k = kinds[i];
    const char *name =
        json_object_get_string(json_object_array_get_idx(names, i));
    cleanup_error kube_error_t err = KUBE_ERROR_INIT;
    kube_object_t *live = kube_client_get(c, k, cli_namespace(), name, &err);
    if (!live) {
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    json_object *cur =
        kube_json_get(kube_object_json(live),
                      annotate ? "metadata.annotations" : "metadata.labels");
    if (list) {
      json_object_object_foreach(cur, lk, lv)
          printf("%s=%s\n", lk, json_object_get_string(lv));
      kube_object_free(live);
      continue;
    }
    bool bad = false;
    json_object_object_foreach(changes, ck, cv) {
      json_object *old = NULL;
      bool has = cur && json_object_object_get_ex(cur, ck, &old);
      if (cv && has && !overwrite &&
          !streq(json_object_get_string(old), json_object_get_string(cv))) {
        cli_fail("'%s' already has a value (%s), and --overwrite is false", ck,
                 json_object_get_string(old));
        bad = true;
      }
      if (!cv && !has)
        fprintf(stderr, "%s \"%s\" not found.\n",
                annotate ? "annotation" : "label", ck);
    }
    if (bad) {
      kube_object_free(live);
      rc = 1;
      continue;
    }
    json_object *patch = json_object_new_object(),
                *meta = json_object_new_object();
    json_object_object_add(meta, field, json_object_get(changes));
    if (resource_version)
      json_object_object_add(meta, "resourceVersion",
                             json_object_new_string(resource_version));
    json_object_object_add(patch, "metadata", meta);
    const char *old_rv = kube_object_resource_version(live);
    kube_object_t *res = live;
    if (!streq(dry_run, "client")) {
      kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                        .dry_run = streq(dry_run, "server"),
                                        .grace_period = -1};
      res = kube_client_patch(
          c, k, cli_namespace(), name, NULL, KUBE_PATCH_MERGE,
          json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN), &wo,
          &err);
    }
    json_object_put(patch);
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
                       fmt, fmt_arg, dry_run);
    }
    if (res != live)
      kube_object_free(res);
    kube_object_free(live);
  }
out:
  json_object_put(changes);
  json_object_put(names);
  free(kinds);
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
