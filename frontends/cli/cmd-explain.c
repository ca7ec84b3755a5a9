/* SPDX-License-Identifier: Apache-2.0 */
/* kube explain TYPE[.FIELD...] [--recursive]: the schema of a kind or of
 * one of its fields, read from the server's /openapi/v3 document of the
 * kind's group-version and printed as kubectl 1.32 prints it (its
 * plaintext template: GROUP/KIND/VERSION, FIELD with ENUM, DESCRIPTION
 * wrapped at 80 columns, FIELDS with their types, -required-, enum and
 * descriptions, or their tree with --recursive). */
#include <json-c/json.h>
#include <stdio.h>

#include "cli.h"

/* Follow a {"$ref": "#/components/schemas/X"} (or a one-element allOf). */
static json_object *resolve(json_object *schemas, json_object *s) {
  for (int depth = 0; s && depth < 8; depth++) {
    json_object *v = NULL;
    if (json_object_object_get_ex(s, "allOf", &v) &&
        json_object_array_length(v) == 1) {
      s = json_object_array_get_idx(v, 0);
      continue;
    }
    if (!json_object_object_get_ex(s, "$ref", &v))
      return s;
    const char *ref = json_object_get_string(v);
    const char *name = strrchr(ref, '/');
    json_object *t = NULL;
    if (!name || !json_object_object_get_ex(schemas, name + 1, &t))
      return s;
    s = t;
  }
  return s;
}

static const char *ref_name(json_object *s) {
  json_object *v = NULL;
  if (json_object_object_get_ex(s, "allOf", &v) &&
      json_object_array_length(v) == 1)
    s = json_object_array_get_idx(v, 0);
  if (!json_object_object_get_ex(s, "$ref", &v))
    return NULL;
  const char *r = json_object_get_string(v), *dot = strrchr(r, '.');
  return dot ? dot + 1 : strrchr(r, '/') ? strrchr(r, '/') + 1 : r;
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v;
  return o && json_object_object_get_ex(o, key, &v) &&
                 json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* kubectl's type guess: "string", "[]Container", "map[string]string",
 * "Object", "IntOrString". */
static void type_name(json_object *schemas, json_object *s, char *buf,
                      size_t len) {
  const char *r = ref_name(s);
  if (r) {
    snprintf(buf, len, "%s", r);
    return;
  }
  json_object *v = NULL;
  const char *t = jstr(s, "type");
  if (t && streq(t, "array") &&
             json_object_object_get_ex(s, "items", &v)) {
    char inner[200];
    type_name(schemas, v, inner, sizeof inner);
    snprintf(buf, len, "[]%s", inner);
  } else if (json_object_object_get_ex(s, "additionalProperties", &v) &&
             json_object_is_type(v, json_type_object)) {
    char inner[200];
    type_name(schemas, v, inner, sizeof inner);
    snprintf(buf, len, "map[string]%s", inner);
  } else if (t && !streq(t, "object")) {
    snprintf(buf, len, "%s", t);
  } else {
    snprintf(buf, len, "Object");
  }
}

/* Print text word-wrapped to 80 columns at `indent`, as go-wordwrap does
 * (lines kept, words never split). */
static void print_wrapped(const char *text, int indent) {
  size_t lim = 80 - (size_t)indent;
  const char *p = text;
  while (*p || p == text) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    printf("%*s", indent, "");
    size_t col = 0;
    const char *q = p, *end = p + n;
    bool first = true;
    while (q < end) {
      const char *ws = q;
      while (q < end && *q == ' ')
        q++;
      const char *w = q;
      while (q < end && *q != ' ')
        q++;
      size_t spaces = (size_t)(w - ws), wl = (size_t)(q - w);
      if (!wl)
        break;
      if (!first && col + spaces + wl > lim) {
        printf("\n%*s", indent, "");
        col = 0;
        spaces = 0;
      }
      printf("%.*s%.*s", (int)spaces, ws, (int)wl, w);
      col += spaces + wl;
      first = false;
    }
    printf("\n");
    if (!nl)
      break;
    p = nl + 1;
  }
}

static bool is_required(json_object *parent, const char *name) {
  json_object *req = NULL;
  if (!json_object_object_get_ex(parent, "required", &req))
    return false;
  for (size_t i = 0; i < json_object_array_length(req); i++)
    if (streq(json_object_get_string(json_object_array_get_idx(req, i)), name))
      return true;
  return false;
}

static void enum_values(json_object *s, char *buf, size_t len,
                        const char *sep) {
  json_object *e = NULL;
  buf[0] = '\0';
  if (!json_object_object_get_ex(s, "enum", &e))
    return;
  size_t used = 0;
  for (size_t i = 0; i < json_object_array_length(e) && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? sep : "",
                             json_object_get_string(
                                 json_object_array_get_idx(e, i)));
}

/* The object schema whose fields a schema has: itself, or its items
 * (arrays), through refs. */
static json_object *parent_of(json_object *schemas, json_object *s) {
  for (int depth = 0; depth < 8; depth++) {
    s = resolve(schemas, s);
    json_object *v = NULL;
    const char *t = jstr(s, "type");
    if (!t || !streq(t, "array") || !json_object_object_get_ex(s, "items", &v))
      break;
    s = v;
  }
  return s;
}

/* Its properties (sorted when printed), or NULL. */
static json_object *props_of(json_object *schemas, json_object *s) {
  json_object *v = NULL;
  return json_object_object_get_ex(parent_of(schemas, s), "properties", &v)
             ? v
             : NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_fields(json_object *schemas, json_object *s, int indent,
                         bool recursive, int depth) {
  json_object *props = props_of(schemas, s), *parent = parent_of(schemas, s);
  if (!props || depth > 15)
    return;
  size_t n = (size_t)json_object_object_length(props), i = 0;
  const char **names = calloc(n ? n : 1, sizeof *names);
  if (!names)
    return;
  json_object_object_foreach(props, key, unused) {
    (void)unused;
    names[i++] = key;
  }
  qsort(names, n, sizeof *names, cmp_str);
  for (i = 0; i < n; i++) {
    const char *name = names[i];
    json_object *p = NULL;
    json_object_object_get_ex(props, name, &p);
    char t[256], en[1024];
    type_name(schemas, p, t, sizeof t);
    printf("%*s%s\t<%s>%s\n", indent, "", name, t,
           is_required(parent, name) ? " -required-" : "");
    json_object *rp = resolve(schemas, p);
    enum_values(rp, en, sizeof en, ", ");
    if (en[0])
      printf("%*senum: %s\n", indent, "", en);
    if (recursive) {
      print_fields(schemas, p, indent + 2, true, depth + 1);
      continue;
    }
    const char *d = jstr(p, "description");
    if (d && *d)
      print_wrapped(d, indent + 2);
    else
      printf("%*s<no description>\n", indent + 2, "");
    printf("\n");
  }
  free(names);
}

static json_object *get_json(kube_client_t *c, const char *path,
                             const char *query, kube_error_t *err) {
  kube_client_request_t req = {.struct_size = sizeof req,
                               .method = "GET",
                               .path = path,
                               .query = query};
  kube_client_response_t resp = KUBE_CLIENT_RESPONSE_INIT;
  json_object *o = NULL;
  if (kube_client_request(c, &req, &resp, err) == 0 &&
      kube_client_check(&resp, err) == 0)
    o = json_tokener_parse(resp.body);
  kube_client_response_clear(&resp);
  return o;
}

/* What is explained: a kind of a group-version. */
struct gvk {
  char group[256], version[64], kind[128];
};

/* A resource the client does not know (a custom resource): looked up by
 * plural, singular or short name, or "plural.group", in the server's
 * discovery of the preferred versions. */
static int discover(kube_client_t *c, const char *name, struct gvk *out) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *apis = get_json(c, "/apis", NULL, &err), *groups = NULL;
  int rc = -1;
  if (!apis || !json_object_object_get_ex(apis, "groups", &groups)) {
    json_object_put(apis);
    return -1;
  }
  for (size_t i = 0; rc < 0 && i < json_object_array_length(groups); i++) {
    json_object *g = json_object_array_get_idx(groups, i), *pv = NULL;
    const char *gname = jstr(g, "name");
    if (!gname || !json_object_object_get_ex(g, "preferredVersion", &pv))
      continue;
    const char *gv = jstr(pv, "groupVersion"), *ver = jstr(pv, "version");
    char path[512];
    snprintf(path, sizeof path, "/apis/%s", gv ? gv : "");
    json_object *list = get_json(c, path, NULL, &err), *res = NULL;
    kube_error_clear(&err);
    if (list && json_object_object_get_ex(list, "resources", &res)) {
      for (size_t j = 0; rc < 0 && j < json_object_array_length(res); j++) {
        json_object *r = json_object_array_get_idx(res, j), *sn = NULL;
        const char *plural = jstr(r, "name"), *kind = jstr(r, "kind");
        if (!plural || !kind || strchr(plural, '/'))
          continue;
        char qualified[512];
        snprintf(qualified, sizeof qualified, "%s.%s", plural, gname);
        bool match = streq(name, plural) || streq(name, qualified) ||
                     (jstr(r, "singularName") &&
                      streq(name, jstr(r, "singularName")));
        if (json_object_object_get_ex(r, "shortNames", &sn))
          for (size_t x = 0; x < json_object_array_length(sn); x++)
            match = match || streq(name, json_object_get_string(
                                             json_object_array_get_idx(sn, x)));
        if (match) {
          snprintf(out->group, sizeof out->group, "%s", gname);
          snprintf(out->version, sizeof out->version, "%s", ver ? ver : "");
          snprintf(out->kind, sizeof out->kind, "%s", kind);
          rc = 0;
        }
      }
    }
    json_object_put(list);
  }
  json_object_put(apis);
  return rc;
}

/* The schema of the kind in its group-version's document (borrowed from
 * *doc, owned). */
static json_object *kind_schema(kube_client_t *c, const struct gvk *k,
                                json_object **doc, json_object **schemas) {
  cleanup_error kube_error_t err = KUBE_ERROR_INIT;
  json_object *disc = get_json(c, "/openapi/v3", NULL, &err);
  char gv[400];
  if (k->group[0])
    snprintf(gv, sizeof gv, "apis/%s/%s", k->group, k->version);
  else
    snprintf(gv, sizeof gv, "api/%s", k->version);
  json_object *paths = NULL, *e = NULL;
  const char *url = NULL;
  if (disc && json_object_object_get_ex(disc, "paths", &paths) &&
      json_object_object_get_ex(paths, gv, &e))
    url = jstr(e, "serverRelativeURL");
  if (!url) {
    json_object_put(disc);
    if (err.message)
      cli_report(&err);
    else
      cli_fail("couldn't find resource for \"%s%s%s, Kind=%s\"", k->group,
               k->group[0] ? "/" : "", k->version, k->kind);
    return NULL;
  }
  cleanup_free char *path = strdup(url);
  char *q = path ? strchr(path, '?') : NULL;
  if (q)
    *q++ = '\0';
  *doc = path ? get_json(c, path, q, &err) : NULL;
  json_object_put(disc);
  json_object *comp = NULL;
  *schemas = NULL;
  if (!*doc || !json_object_object_get_ex(*doc, "components", &comp) ||
      !json_object_object_get_ex(comp, "schemas", schemas)) {
    cli_fail("failed to fetch openapi schema for %s", gv);
    return NULL;
  }
  json_object_object_foreach(*schemas, name, s) {
    (void)name;
    json_object *gvks = NULL;
    if (!json_object_object_get_ex(s, "x-kubernetes-group-version-kind", &gvks))
      continue;
    for (size_t i = 0; i < json_object_array_length(gvks); i++) {
      json_object *g = json_object_array_get_idx(gvks, i);
      const char *gg = jstr(g, "group"), *vv = jstr(g, "version"),
                 *kk = jstr(g, "kind");
      if (gg && vv && kk && streq(gg, k->group) && streq(vv, k->version) &&
          streq(kk, k->kind))
        return s;
    }
  }
  cli_fail("couldn't find resource for \"%s%s%s, Kind=%s\"", k->group,
           k->group[0] ? "/" : "", k->version, k->kind);
  return NULL;
}

int cmd_explain(int argc, char **argv) {
  bool recursive = false;
  const char *api_version = NULL, *output = NULL;
  const struct cli_flag flags[] = {
      {"recursive", 0, CLI_BOOL, &recursive, NULL},
      {"api-version", 0, CLI_STRING, &api_version, NULL},
      {"output", 'o', CLI_STRING, &output, NULL},
      {NULL, 0, 0, NULL, NULL},
  };
  char **pos = NULL;
  int npos = 0, rc = 1;
  json_object *doc = NULL;
  char *spec = NULL;
  cleanup_error kube_error_t lerr = KUBE_ERROR_INIT;
  if (cli_parse(argc, argv, flags, &pos, &npos, NULL) < 0)
    goto out;
  if (output && !streq(output, "plaintext")) {
    rc = cli_fail("supported output format: plaintext");
    goto out;
  }
  if (npos == 0) {
    rc = cli_fail("You must specify the type of resource to explain. Use "
                  "\"kubectl api-resources\" for a complete list of "
                  "supported resources.");
    goto out;
  }
  if (npos > 1) {
    rc = cli_fail("We accept only this format: explain RESOURCE");
    goto out;
  }
  spec = strdup(pos[0]);
  if (!spec) {
    rc = cli_fail("out of memory");
    goto out;
  }
  char *fields = NULL, *type = spec;
  kube_client_t *c = cli_client();
  if (!c)
    goto out;
  struct gvk gvk = {.kind = ""}, *k = &gvk;
  const kube_kind_t *known = NULL;
  /* The longest prefix naming a resource ("crontabs.stable.example.com"),
   * the rest is the field path: the client's kinds first, then the
   * server's discovery (custom resources). */
  for (int pass = 0; pass < 2 && !known && !gvk.kind[0]; pass++) {
    for (char *cut = NULL;;) {
      if (cut)
        *cut = '\0';
      if (pass == 0)
        known = kube_kind_lookup(spec, &lerr);
      kube_error_clear(&lerr);
      if (known || (pass == 1 && discover(c, spec, &gvk) == 0)) {
        fields = cut ? cut + 1 : NULL;
        break;
      }
      if (cut)
        *cut = '.';
      /* The next shorter prefix: cut at the dot before the current end. */
      char *end = cut ? cut : spec + strlen(spec);
      char *d = NULL;
      for (char *q = spec; q < end; q++)
        if (*q == '.')
          d = q;
      if (!d)
        break;
      cut = d;
    }
  }
  type = spec;
  if (known) {
    snprintf(gvk.group, sizeof gvk.group, "%s", known->group);
    snprintf(gvk.version, sizeof gvk.version, "%s", known->version);
    snprintf(gvk.kind, sizeof gvk.kind, "%s", known->kind);
  } else if (!gvk.kind[0]) {
    /* kubectl prints this one without "error: ". */
    fprintf(stderr, "the server doesn't have a resource type \"%s\"\n", type);
    goto out;
  }
  if (api_version) {
    char want[1024];
    snprintf(want, sizeof want, "%s%s%s", k->group, k->group[0] ? "/" : "",
             k->version);
    if (!streq(api_version, want)) {
      const char *slash = strchr(api_version, '/');
      rc = cli_fail("couldn't find resource for \"%s%s, Resource=%s\"",
                    slash ? "" : "/", api_version,
                    known ? known->resource : type);
      goto out;
    }
  }
  json_object *schemas = NULL;
  json_object *root = kind_schema(c, k, &doc, &schemas);
  if (!root)
    goto out;
  if (k->group[0])
    printf("GROUP:      %s\n", k->group);
  printf("KIND:       %s\nVERSION:    %s\n\n", k->kind, k->version);
  /* Walk the field path. */
  json_object *s = root, *field = NULL;
  const char *fname = NULL;
  for (char *save = NULL, *f = fields ? strtok_r(fields, ".", &save) : NULL;
       f; f = strtok_r(NULL, ".", &save)) {
    json_object *props = props_of(schemas, s), *p = NULL;
    if (!props || !json_object_object_get_ex(props, f, &p)) {
      fflush(stdout);
      rc = cli_fail("field \"%s\" does not exist", f);
      goto out;
    }
    field = p;
    fname = f;
    s = p;
  }
  if (field) {
    char t[256], en[1024];
    type_name(schemas, field, t, sizeof t);
    printf("FIELD: %s <%s>\n", fname, t);
    enum_values(resolve(schemas, field), en, sizeof en, "\n    ");
    if (en[0])
      printf("ENUM:\n    %s\n", en);
    else
      printf("\n");
    printf("\n");
  }
  const char *d = jstr(s, "description");
  if (!d || !*d)
    d = jstr(resolve(schemas, s), "description");
  printf("DESCRIPTION:\n");
  if (d && *d) {
    print_wrapped(d, 4);
    printf("    \n");
  } else {
    printf("    <empty>\n");
  }
  if (props_of(schemas, s)) {
    printf("FIELDS:\n");
    print_fields(schemas, s, 2, recursive, 0);
  }
  printf("\n");
  rc = 0;
out:
  json_object_put(doc);
  free(spec);
  free(pos);
  return rc;
}
