/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests (OCI image manifest, Docker schema2), indexes (OCI index,
 * Docker manifest list), image configs, and small json-c helpers.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/internal.h"

/* ---- helpers ------------------------------------------------------------- */

const char *img_json_str(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!o || !json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

void img_strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

size_t img_strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **img_json_strv(json_object *arr, size_t *n) {
  if (n)
    *n = 0;
  if (!arr || !json_object_is_type(arr, json_type_array))
    return NULL;
  size_t len = json_object_array_length(arr);
  char **v = calloc(len + 1, sizeof *v);
  if (!v)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    json_object *it = json_object_array_get_idx(arr, i);
    if (!json_object_is_type(it, json_type_string))
      continue;
    v[k] = strdup(json_object_get_string(it));
    if (!v[k]) {
      img_strv_free(v);
      return NULL;
    }
    k++;
  }
  if (n)
    *n = k;
  return v;
}

json_object *img_strv_to_json(char *const *v) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add(a, json_object_new_string(v[i]));
  return a;
}

/* ---- descriptors --------------------------------------------------------- */

void img_desc_clear(img_desc_t *d) {
  if (!d)
    return;
  free(d->media_type);
  free(d->digest);
  free(d->os);
  free(d->arch);
  free(d->variant);
  img_strv_free(d->urls);
  memset(d, 0, sizeof *d);
}

int img_desc_from_json(json_object *o, img_desc_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  if (!json_object_is_type(o, json_type_object))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "descriptor is not an object");
  const char *mt = img_json_str(o, "mediaType");
  const char *dg = img_json_str(o, "digest");
  json_object *sz = NULL;
  if (!dg || !img_digest_valid(dg))
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "descriptor has no valid sha256 digest (%s)",
                          dg ? dg : "missing");
  if (!json_object_object_get_ex(o, "size", &sz) ||
      !json_object_is_type(sz, json_type_int) || json_object_get_int64(sz) < 0)
    return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                          "descriptor %s has no valid size", dg);
  out->media_type = strdup(mt ? mt : "");
  out->digest = strdup(dg);
  out->size = json_object_get_int64(sz);
  json_object *plat = NULL;
  if (json_object_object_get_ex(o, "platform", &plat)) {
    const char *os = img_json_str(plat, "os");
    const char *arch = img_json_str(plat, "architecture");
    const char *var = img_json_str(plat, "variant");
    out->os = os ? strdup(os) : NULL;
    out->arch = arch ? strdup(arch) : NULL;
    out->variant = var ? strdup(var) : NULL;
  }
  json_object *urls = NULL;
  if (json_object_object_get_ex(o, "urls", &urls))
    out->urls = img_json_strv(urls, &out->n_urls);
  if (!out->media_type || !out->digest) {
    img_desc_clear(out);
    return kube_make_oom(err);
  }
  return 0;
}

json_object *img_desc_to_json(const img_desc_t *d) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "mediaType", json_object_new_string(d->media_type));
  json_object_object_add(o, "digest", json_object_new_string(d->digest));
  json_object_object_add(o, "size", json_object_new_int64(d->size));
  if (d->urls)
    json_object_object_add(o, "urls", img_strv_to_json(d->urls));
  return o;
}

/* ---- manifests ----------------------------------------------------------- */

void img_manifest_clear(img_manifest_t *m) {
  if (!m)
    return;
  free(m->media_type);
  img_desc_clear(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    img_desc_clear(&m->layers[i]);
  free(m->layers);
  memset(m, 0, sizeof *m);
}

bool img_layer_media_type_ok(const char *mt) {
  static const char *const ok[] = {IMG_MT_OCI_LAYER,
                                   IMG_MT_OCI_LAYER_GZ,
                                   IMG_MT_OCI_LAYER_ZSTD,
                                   IMG_MT_DOCKER_LAYER,
                                   IMG_MT_DOCKER_LAYER_FOREIGN,
                                   "application/vnd.oci.image.layer."
                                   "nondistributable.v1.tar",
                                   "application/vnd.oci.image.layer."
                                   "nondistributable.v1.tar+gzip",
                                   "application/vnd.docker.image.rootfs.diff."
                                   "tar"};
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
    if (streq(mt, ok[i]))
      return true;
  return false;
}

static json_object *parse_json(const char *json, size_t len,
                               kube_error_t *err) {
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    kube_make_oom(err);
    return NULL;
  }
  json_object *o = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t off = tok->char_offset;
  json_tokener_free(tok);
  if (!o || e != json_tokener_success || off != len ||
      !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "not a JSON object (%s)",
                   e != json_tokener_success ? json_tokener_error_desc(e)
                                             : "trailing data");
    return NULL;
  }
  return o;
}

bool img_is_index(const char *media_type, const char *json, size_t len) {
  if (media_type && *media_type)
    return streq(media_type, IMG_MT_OCI_INDEX) ||
           streq(media_type, IMG_MT_DOCKER_LIST);
  json_object *o = json ? parse_json(json, len, NULL) : NULL;
  bool r = false;
  if (o) {
    const char *mt = img_json_str(o, "mediaType");
    json_object *m = NULL;
    r = (mt &&
         (streq(mt, IMG_MT_OCI_INDEX) || streq(mt, IMG_MT_DOCKER_LIST))) ||
        (!mt && json_object_object_get_ex(o, "manifests", &m));
    json_object_put(o);
  }
  return r;
}

int img_manifest_parse(const char *json, size_t len, img_manifest_t *out,
                       kube_error_t *err) {
  memset(out, 0, sizeof *out);
  json_object *o = parse_json(json, len, err);
  if (!o)
    return kube_error_wrap(err, "manifest");
  int rc = -1;
  const char *mt = img_json_str(o, "mediaType");
  json_object *sv = NULL, *cfg = NULL, *layers = NULL, *mans = NULL;
  if (json_object_object_get_ex(o, "manifests", &mans) ||
      (mt && (streq(mt, IMG_MT_OCI_INDEX) || streq(mt, IMG_MT_DOCKER_LIST)))) {
    kube_error_set(err, KUBE_REASON_NOT_ACCEPTABLE, 0,
                   "manifest: is an index, not an image manifest");
    goto out;
  }
  if (!json_object_object_get_ex(o, "schemaVersion", &sv) ||
      json_object_get_int(sv) != 2) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "manifest: schemaVersion must be 2 (schema 1 manifests "
                   "are not supported)");
    goto out;
  }
  if (mt && !streq(mt, IMG_MT_OCI_MANIFEST) &&
      !streq(mt, IMG_MT_DOCKER_MANIFEST)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "manifest: unsupported media type %s", mt);
    goto out;
  }
  out->media_type = strdup(mt ? mt : IMG_MT_OCI_MANIFEST);
  if (!json_object_object_get_ex(o, "config", &cfg) ||
      img_desc_from_json(cfg, &out->config, err) < 0) {
    if (!kube_error_is_set(err))
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "no config");
    kube_error_wrap(err, "manifest config");
    goto out;
  }
  if (json_object_object_get_ex(o, "layers", &layers) &&
      !json_object_is_type(layers, json_type_array)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "manifest: layers is not an array");
    goto out;
  }
  size_t n = layers ? json_object_array_length(layers) : 0;
  out->layers = calloc(n ? n : 1, sizeof *out->layers);
  if (!out->layers) {
    kube_make_oom(err);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    if (img_desc_from_json(json_object_array_get_idx(layers, i),
                           &out->layers[i], err) < 0) {
      kube_error_wrap(err, "manifest layer %zu", i);
      goto out;
    }
    out->n_layers++;
    if (!img_layer_media_type_ok(out->layers[i].media_type)) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "manifest layer %zu: unsupported media type %s", i,
                     out->layers[i].media_type);
      goto out;
    }
  }
  rc = 0;
out:
  json_object_put(o);
  if (rc < 0)
    img_manifest_clear(out);
  return rc;
}

static void host_platform(char *os, size_t oslen, char *arch, size_t alen) {
  snprintf(os, oslen, "linux");
  struct utsname u;
  const char *a = "amd64";
  if (uname(&u) == 0) {
    if (streq(u.machine, "aarch64"))
      a = "arm64";
    else if (str_has_prefix(u.machine, "arm"))
      a = "arm";
    else if (streq(u.machine, "i686") || streq(u.machine, "i386"))
      a = "386";
    else if (streq(u.machine, "ppc64le"))
      a = "ppc64le";
    else if (streq(u.machine, "s390x"))
      a = "s390x";
    else if (streq(u.machine, "riscv64"))
      a = "riscv64";
  }
  snprintf(arch, alen, "%s", a);
}

int img_index_select(const char *json, size_t len, const char *platform,
                     img_desc_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  char os[96], arch[96], variant[96] = "";
  host_platform(os, sizeof os, arch, sizeof arch);
  if (platform && *platform) {
    /* "os/arch[/variant]" */
    char buf[96];
    snprintf(buf, sizeof buf, "%s", platform);
    char *a = strchr(buf, '/');
    if (!a)
      return kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                            "bad platform \"%s\" (want os/arch[/variant])",
                            platform);
    *a++ = '\0';
    char *v = strchr(a, '/');
    if (v)
      *v++ = '\0';
    snprintf(os, sizeof os, "%s", buf);
    snprintf(arch, sizeof arch, "%s", a);
    snprintf(variant, sizeof variant, "%s", v ? v : "");
  }
  json_object *o = parse_json(json, len, err);
  if (!o)
    return kube_error_wrap(err, "index");
  json_object *mans = NULL;
  int rc = -1;
  if (!json_object_object_get_ex(o, "manifests", &mans) ||
      !json_object_is_type(mans, json_type_array)) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0, "index has no manifests");
    goto done;
  }
  for (size_t i = 0; i < json_object_array_length(mans); i++) {
    img_desc_t d;
    if (img_desc_from_json(json_object_array_get_idx(mans, i), &d, NULL) < 0)
      continue;
    bool match = d.os && d.arch && streq(d.os, os) && streq(d.arch, arch) &&
                 (!*variant || (d.variant && streq(d.variant, variant)));
    if (match) {
      *out = d;
      rc = 0;
      goto done;
    }
    img_desc_clear(&d);
  }
  kube_error_set(err, KUBE_REASON_NOT_FOUND, 0,
                 "no image for platform %s/%s%s%s in the index", os, arch,
                 *variant ? "/" : "", variant);
done:
  json_object_put(o);
  return rc;
}

/* ---- images -------------------------------------------------------------- */

void img_image_clear(img_image_t *im) {
  if (!im)
    return;
  free(im->manifest_digest);
  free(im->manifest_json);
  img_manifest_clear(&im->m);
  json_object_put(im->config);
  img_strv_free(im->diff_ids);
  memset(im, 0, sizeof *im);
}

int img_image_load(const kube_image_store_t *s, const char *manifest_digest,
                   img_image_t *out, kube_error_t *err) {
  return img_image_load_json(s, manifest_digest, NULL, 0, out, err);
}

int img_image_load_json(const kube_image_store_t *s,
                        const char *manifest_digest, const char *json,
                        size_t len, img_image_t *out, kube_error_t *err) {
  memset(out, 0, sizeof *out);
  cleanup_free char *cj = NULL;
  out->manifest_digest = strdup(manifest_digest);
  if (json) {
    out->manifest_len = len;
    if ((out->manifest_json = malloc(len + 1))) {
      memcpy(out->manifest_json, json, len);
      out->manifest_json[len] = '\0';
    } else
      kube_make_oom(err);
  } else
    out->manifest_json = img_blob_read(s, manifest_digest, IMG_MAX_MANIFEST,
                                       &out->manifest_len, err);
  if (!out->manifest_digest || !out->manifest_json)
    goto fail;
  if (img_manifest_parse(out->manifest_json, out->manifest_len, &out->m, err) <
      0)
    goto fail;
  size_t clen = 0;
  cj = img_blob_read(s, out->m.config.digest, IMG_MAX_CONFIG, &clen, err);
  if (!cj)
    goto fail;
  out->config = parse_json(cj, clen, err);
  if (!out->config) {
    kube_error_wrap(err, "image config %s", out->m.config.digest);
    goto fail;
  }
  json_object *rootfs = NULL, *ids = NULL;
  size_t n = 0;
  if (json_object_object_get_ex(out->config, "rootfs", &rootfs) &&
      json_object_object_get_ex(rootfs, "diff_ids", &ids))
    out->diff_ids = img_json_strv(ids, &n);
  if (!out->diff_ids && out->m.n_layers == 0) {
    out->diff_ids = calloc(1, sizeof(char *));
    n = 0;
  }
  if (!out->diff_ids || n != out->m.n_layers) {
    kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                   "image %s: config lists %zu diff_ids for %zu layers",
                   manifest_digest, n, out->m.n_layers);
    goto fail;
  }
  for (size_t i = 0; i < n; i++)
    if (!img_digest_valid(out->diff_ids[i])) {
      kube_error_set(err, KUBE_REASON_BAD_REQUEST, 0,
                     "image %s: bad diff_id %s", manifest_digest,
                     out->diff_ids[i]);
      goto fail;
    }
  return 0;
fail:
  img_image_clear(out);
  return -1;
}

char **img_image_chain_ids(const img_image_t *im) {
  char **v = calloc(im->m.n_layers + 1, sizeof *v);
  if (!v)
    return NULL;
  for (size_t i = 0; i < im->m.n_layers; i++) {
    v[i] = img_chain_id(i ? v[i - 1] : NULL, im->diff_ids[i]);
    if (!v[i]) {
      img_strv_free(v);
      return NULL;
    }
  }
  return v;
}

/* ---- the runtime config -------------------------------------------------- */

KUBE_EXPORT void kube_image_config_clear(kube_image_config_t *c) {
  if (!c)
    return;
  img_strv_free(c->entrypoint);
  img_strv_free(c->cmd);
  img_strv_free(c->env);
  free(c->working_dir);
  free(c->user);
  img_strv_free(c->exposed_ports);
  img_strv_free(c->volumes);
  free(c->stop_signal);
  img_strv_free(c->label_keys);
  img_strv_free(c->label_values);
  if (c->healthcheck) {
    img_strv_free(c->healthcheck->test);
    free(c->healthcheck);
  }
  img_strv_free(c->on_build);
  img_strv_free(c->shell);
  free(c->os);
  free(c->architecture);
  memset(c, 0, sizeof *c);
}

static char *dup_opt(const char *s) {
  return s && *s ? strdup(s) : NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Keys of a JSON object, sorted (ExposedPorts, Volumes). */
static char **object_keys(json_object *o, size_t *n) {
  *n = 0;
  if (!o || !json_object_is_type(o, json_type_object))
    return NULL;
  size_t len = (size_t)json_object_object_length(o);
  char **v = calloc(len + 1, sizeof *v);
  if (!v)
    return NULL;
  json_object_object_foreach(o, k, val) {
    (void)val;
    v[(*n)++] = strdup(k);
  }
  qsort(v, *n, sizeof *v, cmp_str);
  return v;
}

static int64_t get_i64(json_object *o, const char *k) {
  json_object *v = NULL;
  return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

int img_config_from_json(json_object *root, kube_image_config_t *out,
                         kube_error_t *err) {
  memset(out, 0, sizeof *out);
  out->os = dup_opt(img_json_str(root, "os"));
  out->architecture = dup_opt(img_json_str(root, "architecture"));
  json_object *c = NULL, *v = NULL;
  if (!json_object_object_get_ex(root, "config", &c) ||
      !json_object_is_type(c, json_type_object))
    return 0;
  if (json_object_object_get_ex(c, "Entrypoint", &v))
    out->entrypoint = img_json_strv(v, &out->n_entrypoint);
  if (json_object_object_get_ex(c, "Cmd", &v))
    out->cmd = img_json_strv(v, &out->n_cmd);
  if (json_object_object_get_ex(c, "Env", &v))
    out->env = img_json_strv(v, &out->n_env);
  if (json_object_object_get_ex(c, "Shell", &v))
    out->shell = img_json_strv(v, &out->n_shell);
  if (json_object_object_get_ex(c, "OnBuild", &v))
    out->on_build = img_json_strv(v, &out->n_on_build);
  out->working_dir = dup_opt(img_json_str(c, "WorkingDir"));
  out->user = dup_opt(img_json_str(c, "User"));
  out->stop_signal = dup_opt(img_json_str(c, "StopSignal"));
  if (json_object_object_get_ex(c, "ExposedPorts", &v))
    out->exposed_ports = object_keys(v, &out->n_exposed_ports);
  if (json_object_object_get_ex(c, "Volumes", &v))
    out->volumes = object_keys(v, &out->n_volumes);
  if (json_object_object_get_ex(c, "Labels", &v) &&
      json_object_is_type(v, json_type_object)) {
    out->label_keys = object_keys(v, &out->n_labels);
    out->label_values = calloc(out->n_labels + 1, sizeof(char *));
    for (size_t i = 0; out->label_values && i < out->n_labels; i++) {
      const char *val = img_json_str(v, out->label_keys[i]);
      out->label_values[i] = strdup(val ? val : "");
    }
  }
  json_object *hc = NULL;
  if (json_object_object_get_ex(c, "Healthcheck", &hc) &&
      json_object_is_type(hc, json_type_object)) {
    out->healthcheck = calloc(1, sizeof *out->healthcheck);
    if (!out->healthcheck)
      return kube_make_oom(err);
    if (json_object_object_get_ex(hc, "Test", &v))
      out->healthcheck->test = img_json_strv(v, &out->healthcheck->n_test);
    out->healthcheck->interval_ns = get_i64(hc, "Interval");
    out->healthcheck->timeout_ns = get_i64(hc, "Timeout");
    out->healthcheck->start_period_ns = get_i64(hc, "StartPeriod");
    out->healthcheck->start_interval_ns = get_i64(hc, "StartInterval");
    out->healthcheck->retries = (int)get_i64(hc, "Retries");
  }
  return 0;
}
