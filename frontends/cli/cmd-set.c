/* SPDX-License-Identifier: Apache-2.0 */
/* kube set image|env|resources TYPE/NAME ...: as kubectl set, read each
 * object, change the containers of its pod template and send the
 * difference as the strategic merge patch kubectl computes (the changed
 * containers by name with $setElementOrder/containers, env entries by
 * name with $patch: delete for the removed ones), with fieldManager
 * kubectl-set.  Objects by name, or TYPE -l SELECTOR | --all.  Prints
 * "deployment.apps/web image updated" (env updated,
 * resource requirements updated), nothing when nothing changes. */
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>

#include "cli.h"

enum set_what { SET_IMAGE, SET_ENV, SET_RESOURCES };

struct set_opts {
  enum set_what what;
  const char *container; /* -c (env, resources); "*" for all */
  struct cli_strv pairs; /* image: NAME=IMAGE; env: K=V / K- */
  json_object *requests, *limits;
  bool dry_run, dry_client; /* --dry-run=server / client */
};

/* Where the pod spec of an object of kind k is. */
static const char *const *spec_path(const kube_kind_t *k) {
  static const char *const tmpl[] = {"spec", "template", "spec", NULL};
  static const char *const cron[] = {"spec",     "jobTemplate", "spec",
                                     "template", "spec",        NULL};
  static const char *const pod[] = {"spec", NULL};
  return streq(k->kind, "Pod")       ? pod
         : streq(k->kind, "CronJob") ? cron
                                     : tmpl;
}

/* The pod spec inside obj (borrowed), or NULL. */
static json_object *pod_spec(json_object *obj, const kube_kind_t *k) {
  const char *const *p = spec_path(k);
  json_object *v = obj;
  for (size_t i = 0; p[i]; i++)
    if (!json_object_object_get_ex(v, p[i], &v))
      return NULL;
  return v;
}

/* Nest `inner` (stolen) under the pod spec's path: the whole patch. */
static json_object *wrap(json_object *inner, const kube_kind_t *k) {
  const char *const *p = spec_path(k);
  size_t n = 0;
  while (p[n])
    n++;
  json_object *v = inner;
  for (size_t i = n; i-- > 0;) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, p[i], v);
    v = o;
  }
  return v;
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                               : NULL;
}

static bool name_matches(const char *pattern, const char *name) {
  return streq(pattern, "*") || streq(pattern, name);
}

/* {"name": n} entries of a list's items, for $setElementOrder. */
static json_object *order_of(json_object *list) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; list && i < json_object_array_length(list); i++) {
    json_object *e = json_object_new_object();
    const char *n = jstr(json_object_array_get_idx(list, i), "name");
    json_object_object_add(e, "name", json_object_new_string(n ? n : ""));
    json_object_array_add(a, e);
  }
  return a;
}

/* The env patch of one container; NULL when nothing changes. */
static json_object *env_patch(json_object *ctr, const struct set_opts *o) {
  json_object *env = NULL;
  json_object_object_get_ex(ctr, "env", &env);
  json_object *final = json_object_new_array();
  for (size_t i = 0; env && i < json_object_array_length(env); i++)
    json_object_array_add(final,
                          json_object_get(json_object_array_get_idx(env, i)));
  json_object *changes = json_object_new_array();
  for (size_t p = 0; p < o->pairs.n; p++) {
    const char *kv = o->pairs.v[p], *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv) - 1;
    bool remove = !eq;
    ssize_t at = -1;
    for (size_t i = 0; i < json_object_array_length(final); i++) {
      const char *n = jstr(json_object_array_get_idx(final, i), "name");
      if (n && strlen(n) == klen && strncmp(n, kv, klen) == 0)
        at = (ssize_t)i;
    }
    if (remove) {
      if (at < 0)
        continue;
      json_object_array_del_idx(final, (size_t)at, 1);
      json_object *d = json_object_new_object();
      json_object_object_add(d, "$patch", json_object_new_string("delete"));
      json_object_object_add(d, "name",
                             json_object_new_string_len(kv, (int)klen));
      json_object_array_add(changes, d);
      continue;
    }
    if (at >= 0) {
      json_object *cur = json_object_array_get_idx(final, (size_t)at);
      const char *v = jstr(cur, "value");
      if (v && streq(v, eq + 1) && !json_object_object_get_ex(cur, "valueFrom", NULL))
        continue;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "name", json_object_new_string_len(kv, (int)klen));
    json_object_object_add(e, "value", json_object_new_string(eq + 1));
    if (at >= 0)
      json_object_array_put_idx(final, (size_t)at, json_object_get(e));
    else
      json_object_array_add(final, json_object_get(e));
    json_object_array_add(changes, e);
  }
  if (json_object_array_length(changes) == 0) {
    json_object_put(changes);
    json_object_put(final);
    return NULL;
  }
  json_object *cp = json_object_new_object();
  json_object_object_add(cp, "$setElementOrder/env", order_of(final));
  json_object_object_add(cp, "env", changes);
  json_object_put(final);
  return cp;
}

/* The changed keys of one resources map ("requests"/"limits"). */
static json_object *map_changes(json_object *res, const char *key,
                                json_object *want) {
  if (!want)
    return NULL;
  json_object *cur = NULL, *out = NULL;
  if (res)
    json_object_object_get_ex(res, key, &cur);
  json_object_object_foreach(want, k, v) {
    const char *c = cur ? jstr(cur, k) : NULL;
    if (c && streq(c, json_object_get_string(v)))
      continue;
    if (!out)
      out = json_object_new_object();
    json_object_object_add(out, k, json_object_get(v));
  }
  return out;
}

/* The patch of one container (with its name), or NULL when unchanged. */
static json_object *container_patch(json_object *ctr, const struct set_opts *o,
                                    const char *image) {
  json_object *cp = NULL;
  const char *name = jstr(ctr, "name");
  if (o->what == SET_IMAGE) {
    const char *cur = jstr(ctr, "image");
    if (cur && streq(cur, image))
      return NULL;
    cp = json_object_new_object();
    json_object_object_add(cp, "image", json_object_new_string(image));
  } else if (o->what == SET_ENV) {
    if (!(cp = env_patch(ctr, o)))
      return NULL;
  } else {
    json_object *res = NULL;
    json_object_object_get_ex(ctr, "resources", &res);
    json_object *req = map_changes(res, "requests", o->requests);
    json_object *lim = map_changes(res, "limits", o->limits);
    if (!req && !lim)
      return NULL;
    json_object *r = json_object_new_object();
    if (lim)
      json_object_object_add(r, "limits", lim);
    if (req)
      json_object_object_add(r, "requests", req);
    cp = json_object_new_object();
    json_object_object_add(cp, "resources", r);
  }
  json_object_object_add(cp, "name", json_object_new_string(name ? name : ""));
  return cp;
}

/* Change the containers of the list `key` of spec into patch (the pod
 * spec's part).  *found counts the containers matched by `name`. */
static void set_list(json_object *spec, const char *key, const char *name,
                     const struct set_opts *o, const char *image,
                     json_object *patch, int *found) {
  json_object *list = NULL;
  if (!json_object_object_get_ex(spec, key, &list))
    return;
  json_object *changed = NULL;
  json_object_object_get_ex(patch, key, &changed);
  for (size_t i = 0; i < json_object_array_length(list); i++) {
    json_object *ctr = json_object_array_get_idx(list, i);
    const char *n = jstr(ctr, "name");
    if (!n || !name_matches(name, n))
      continue;
    (*found)++;
    json_object *cp = container_patch(ctr, o, image);
    if (!cp)
      continue;
    if (!changed) {
      char order[64];
      snprintf(order, sizeof order, "$setElementOrder/%s", key);
      json_object_object_add(patch, order, order_of(list));
      changed = json_object_new_array();
      json_object_object_add(patch, key, changed);
    }
    json_object_array_add(changed, cp);
  }
}

/* Set one object.  0 ok (printed when changed), 1 after an error. */
static int set_one(kube_client_t *c, const struct cli_named *ref,
                   const struct set_opts *o) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  kube_object_t *obj = kube_client_get(c, ref->kind, cli_namespace(),
                                       ref->name, &err);
  if (!obj)
    return cli_report(&err);
  cleanup_free char *text = kube_object_to_json(obj, KUBE_JSON_COMPACT);
  kube_object_free(obj);
  json_object *root = text ? json_tokener_parse(text) : NULL;
  json_object *spec = root ? pod_spec(root, ref->kind) : NULL;
  char kn[128];
  kube_kind_display_name(ref->kind, kn, sizeof kn);
  if (!spec) {
    json_object_put(root);
    return cli_fail("%s/%s the object is not a pod or does not have a pod "
                    "template: *%s.%s",
                    ref->kind->resource, ref->name, ref->kind->version,
                    ref->kind->kind);
  }
  json_object *patch = json_object_new_object();
  int rc = 0;
  if (o->what == SET_IMAGE) {
    for (size_t p = 0; p < o->pairs.n; p++) {
      const char *pair = o->pairs.v[p], *eq = strchr(pair, '=');
      cleanup_free char *name = strndup(pair, (size_t)(eq - pair));
      int found = 0;
      set_list(spec, "initContainers", name, o, eq + 1, patch, &found);
      set_list(spec, "containers", name, o, eq + 1, patch, &found);
      if (!found && !streq(name, "*"))
        rc = cli_fail("unable to find container named \"%s\"", name);
    }
  } else {
    int found = 0;
    set_list(spec, "initContainers", o->container, o, NULL, patch, &found);
    set_list(spec, "containers", o->container, o, NULL, patch, &found);
    if (!found && o->what == SET_RESOURCES)
      rc = cli_fail("unable to find container named %s", o->container);
    else if (!found)
      fprintf(stderr,
              "Warning: %s/%s does not have any containers matching \"%s\"\n",
              ref->kind->kind, ref->name, o->container);
  }
  json_object_put(root);
  if (rc || json_object_object_length(patch) == 0) {
    json_object_put(patch);
    return rc;
  }
  if (o->dry_client) {
    json_object_put(patch);
    printf("%s/%s %s (dry run)\n", kn, ref->name,
           o->what == SET_IMAGE ? "image updated"
           : o->what == SET_ENV ? "env updated"
                                : "resource requirements updated");
    return 0;
  }
  json_object *full = wrap(patch, ref->kind);
  kube_client_write_options_t wo = {.struct_size = sizeof wo,
                                    .dry_run = o->dry_run,
                                    .field_manager = "kubectl-set",
                                    .grace_period = -1};
  kube_object_t *res = kube_client_patch(
      c, ref->kind, cli_namespace(), ref->name, NULL, KUBE_PATCH_STRATEGIC,
      json_object_to_json_string_ext(full, JSON_C_TO_STRING_PLAIN), &wo, &err);
  json_object_put(full);
  if (!res) {
    /* kubectl wraps the server's message (not its "The ... is invalid"). */
    const char *m = err.message ? err.message : "unknown error";
    if (o->what == SET_RESOURCES)
      return cli_fail("failed to patch resources update to pod template %s", m);
    return cli_fail("failed to patch %s update to pod template: %s",
                    o->what == SET_IMAGE ? "image" : "env", m);
  }
  kube_object_free(res);
  printf("%s/%s %s%s\n", kn, ref->name,
         o->what == SET_IMAGE ? "image updated"
         : o->what == SET_ENV ? "env updated"
                              : "resource requirements updated",
         o->dry_run ? " (server dry run)" : "");
  fflush(stdout);
  return 0;
}

/* Whether s matches the extended regular expression re. */
static bool matches(const char *re, const char *s) {
  regex_t r;
  if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  bool ok = regexec(&r, s, 0, NULL, 0) == 0;
  regfree(&r);
  return ok;
}

static const char qty_re[] = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";
static const char env_re[] = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";

/* kubectl's checks of K=V / K- before anything is sent. */
static int check_env(const struct set_opts *o) {
  for (size_t i = 0; i < o->pairs.n; i++) {
    const char *kv = o->pairs.v[i], *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) : strlen(kv) - 1;
    cleanup_free char *key = strndup(kv, klen);
    if (!key)
      return cli_fail("out of memory");
    if (!matches(env_re, key))
      return cli_fail(
          "\"%s\" is not a valid key name: a valid environment variable "
          "name must consist of alphabetic characters, digits, '_', '-', or "
          "'.', and must not start with a digit (e.g. 'my.env-name',  or "
          "'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is "
          "'[-._a-zA-Z][-._a-zA-Z0-9]*')",
          key);
    for (size_t j = 0; eq && j < o->pairs.n; j++) {
      const char *other = o->pairs.v[j];
      size_t ol = strlen(other);
      if (!strchr(other, '=') && ol == klen + 1 &&
          strncmp(other, key, klen) == 0)
        return cli_fail("can not both modify and remove the same "
                        "environment variable in the same command");
    }
  }
  return 0;
}

/* "cpu=100m,memory=64Mi" -> {"cpu": "100m", "memory": "64Mi"} (owned). */
static int parse_resources(const char *s, json_object **out) {
  *out = NULL;
  if (!s)
    return 0;
  json_object *m = json_object_new_object();
  cleanup_free char *copy = strdup(s);
  for (char *save = NULL, *kv = strtok_r(copy, ",", &save); kv;
       kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq || eq == kv || !eq[1]) {
      json_object_put(m);
      return cli_fail("Invalid argument syntax %s, expected <resource>=<value>",
                      kv);
    }
    *eq = '\0';
    if (!matches(qty_re, eq + 1)) {
      json_object_put(m);
      return cli_fail("quantities must match the regular expression '%s'",
                      qty_re);
    }
    json_object_object_add(m, kv, json_object_new_string(eq + 1));
  }
  *out = m;
  return 0;
}

static const char set_help[] =
    "Configure application resources.\n\n"
    " These commands help you make changes to existing application "
    "resources.\n\n"
    "Available Commands:\n"
    "  env           Update environment variables on a pod template\n"
    "  image         Update the image of a pod template\n"
    "  resources     Update resource requests/limits on objects with pod "
    "templates\n\n"
    "Usage:\n"
    "  kube set SUBCOMMAND [options]\n";

int cmd_set(int argc, char **argv) {
  if (argc < 2) {
    fputs(set_help, stdout);
    return 0;
  }
  struct set_opts o = {.container = "*"};
  const char *requests = NULL, *limits = NULL, *dry_run_v = NULL, *dry_run;
  const char *selector = NULL;
  bool dry_run_set = false, all = false;
  const struct cli_flag flags[] = {
      {"selector", 'l', CLI_STRING, &selector, NULL},
      {"all", 0, CLI_BOOL, &all, NULL},
      {"dry-run", 0, CLI_STRING, &dry_run_v, &dry_run_set},
      {"containers", 'c', CLI_STRING, &o.container, NULL},
      {"requests", 0, CLI_STRING, &requests, NULL},
      {"limits", 0, CLI_STRING, &limits, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  struct cli_ref *refs = NULL;
  size_t nrefs = 0, nnamed = 0;
  struct cli_named *named = NULL;
  char **args = NULL;
  int nargs = 0;
  /* The subcommand is the first argument that is no flag (global flags
   * given before `set` come after it). */
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0 ||
      !(dry_run = cli_dry_run(dry_run_v, dry_run_set)))
    goto out;
  if (npos == 0) {
    fputs(set_help, stdout);
    rc = 0;
    goto out;
  }
  const char *sub = pos[0];
  if (!streq(sub, "image") && !streq(sub, "env") && !streq(sub, "resources")) {
    char words[512] = "";
    size_t used = 0;
    for (int i = 0; i < npos && used < sizeof words; i++)
      used += (size_t)snprintf(words + used, sizeof words - used, "%s%s",
                               i ? " " : "", pos[i]);
    rc = cli_fail("unknown command \"%s\"\nSee 'kube set -h' for help and "
                  "examples",
                  words);
    goto out;
  }
  o.what = streq(sub, "image") ? SET_IMAGE
           : streq(sub, "env") ? SET_ENV
                               : SET_RESOURCES;
  o.dry_run = streq(dry_run, "server");
  o.dry_client = streq(dry_run, "client");
  args = calloc((size_t)npos + 1, sizeof *args);
  o.pairs.v = calloc((size_t)npos + 1, sizeof *o.pairs.v);
  if (!args || !o.pairs.v) {
    rc = cli_fail("out of memory");
    goto out;
  }
  /* NAME=IMAGE, K=V and K- are the changes; the rest name objects. */
  for (int i = 1; i < npos; i++) {
    size_t len = strlen(pos[i]);
    if ((pos[i][0] != '=' && strchr(pos[i], '=')) ||
        (o.what == SET_ENV && len > 1 && pos[i][len - 1] == '-'))
      o.pairs.v[o.pairs.n++] = pos[i];
    else
      args[nargs++] = pos[i];
  }
  if (o.what == SET_IMAGE && o.pairs.n == 0) {
    rc = cli_fail("at least one image update is required");
    goto out;
  }
  if (o.what == SET_ENV && o.pairs.n == 0) {
    rc = cli_fail("at least one environment variable must be provided");
    goto out;
  }
  if (o.what == SET_ENV && check_env(&o))
    goto out;
  if (o.what == SET_RESOURCES) {
    if (!requests && !limits) {
      rc = cli_fail("you must specify an update to requests or limits (in "
                    "the form of --requests/--limits)");
      goto out;
    }
    if (parse_resources(requests, &o.requests) ||
        parse_resources(limits, &o.limits))
      goto out;
  }
  if (nargs == 0) {
    rc = cli_fail("one or more resources must be specified as <resource> "
                  "<name> or <resource>/<name>");
    goto out;
  }
  if (cli_parse_refs(args, nargs, &refs, &nrefs) < 0)
    goto out;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  if (cli_expand_refs(c, refs, nrefs, selector, all, &named, &nnamed) < 0)
    goto out;
  rc = 0;
  for (size_t i = 0; i < nnamed; i++)
    if (set_one(c, &named[i], &o))
      rc = 1;
out:
  cli_named_free(named, nnamed);
  json_object_put(o.requests);
  json_object_put(o.limits);
  free(o.pairs.v);
  free(args);
  free(refs);
  free(pos);
  return rc;
}
